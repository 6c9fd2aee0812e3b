"""Every DCC reference test message in ../shared/rtds parses and describes sensibly."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from webapp.gbcs.describe import describe
from webapp.gbcs.gbz import CONTROL_ENCRYPTED, parse_gbz_payload
from webapp.gbcs.header import Cra
from webapp.gbcs.mac import derive_key
from webapp.gbcs.message import Message, parse_message, verify_mac
from webapp.gbcs.payload import payload_encoding
from webapp.gbcs.signing import CertificateStore, SignatureState, verify_message

from .conftest import SHARED

RTDS = SHARED / "rtds" / "RTDS-4.5.0"
KEYSTORE = SHARED / "rtds" / "keystore"
ACB_KA_KEY = KEYSTORE / "90b3d51f30000002-ka.key"
KINDS = ("PRECOMMAND", "COMMAND", "RESPONSE", "ALERT")
_USE_CASE_PART = re.compile(r"^[A-Z]+[0-9]+[A-Za-z0-9]*")

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not RTDS.is_dir(), reason=f"reference data absent: {RTDS} not found"),
]


def _kind_from_name(path: Path) -> str:
    name = path.name
    if "_ALERT" in name:
        return "alert"
    for kind in KINDS:
        if f"_{kind}_" in name:
            return kind.lower()
    raise AssertionError(f"no kind in {name}")


def _load(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


@pytest.fixture(scope="module")
def corpus() -> dict[Path, Message]:
    files = sorted(p for p in RTDS.rglob("*.HEX") if p.is_file())
    assert files, "no RTDS files"
    return {path: parse_message(_load(path)) for path in files}


@pytest.fixture(scope="module")
def keystore() -> CertificateStore:
    return CertificateStore.from_directory(KEYSTORE)


def test_every_file_parses_with_the_right_kind(corpus):
    counts = Counter(message.kind for message in corpus.values())
    for path, message in corpus.items():
        expected = _kind_from_name(path)
        if expected == "command" and message.mac is None:
            # a signed command sent without the Access Control Broker's MAC
            assert message.signature is not None, path
        assert message.kind == expected, path
    print(f"\nRTDS messages by kind: {dict(counts)} ({len(corpus)} files)")


def test_use_cases_match_folder_names(corpus):
    checked = unnamed = 0
    for path, message in corpus.items():
        folder_use_case = path.parent.name.split("_", 1)[1]
        described = describe(message.raw)
        use_case = described["use_case"]
        if use_case is None:
            assert not _USE_CASE_PART.match(folder_use_case) or message.kind == "alert", path
            unnamed += 1
            continue
        candidates = [part.lower() for part in use_case.split("/")]
        assert any(folder_use_case.lower().startswith(c) for c in candidates), (
            path,
            use_case,
        )
        checked += 1
    print(f"\nuse cases checked: {checked}, messages without a use case: {unnamed}")


def test_command_response_pairs_correlate(corpus):
    pairs = 0
    for path, command in corpus.items():
        if not path.name.endswith("_COMMAND_GBCS.HEX") or "PRECOMMAND" in path.name:
            continue
        twin = path.with_name(path.name.replace("_COMMAND_GBCS", "_RESPONSE_GBCS"))
        if twin not in corpus:
            continue
        response = corpus[twin]
        assert response.header.cra is Cra.RESPONSE, twin
        assert response.counter == command.counter, twin
        assert response.message_code == command.message_code, twin
        assert response.header.originator == command.header.recipient, twin
        assert command.header.originator in (
            response.header.recipient,
            response.header.other_info.supplementary_remote_party_id,
        ) or response.header.recipient == bytes.fromhex("90B3D51F30000002"), twin
        pairs += 1
    assert pairs > 300
    print(f"\ncommand/response pairs: {pairs}")


def test_signatures_verify_where_the_signer_is_known(corpus, keystore):
    states = Counter(verify_message(message, keystore) for message in corpus.values())
    assert states[SignatureState.INVALID] == 0
    assert states[SignatureState.VALID] > 0
    print(f"\nsignature states: { {s.value: n for s, n in states.items()} }")


def test_command_macs_verify_with_the_test_keys(corpus):
    if not ACB_KA_KEY.exists():
        pytest.skip(f"{ACB_KA_KEY} absent")
    acb = serialization.load_pem_private_key(ACB_KA_KEY.read_bytes(), None)
    verified = 0
    for message in corpus.values():
        if message.kind != "command" or message.mac is None:
            continue
        device_cert = KEYSTORE / f"{message.recipient_hex.lower()}-ka.pem"
        if not device_cert.exists():
            continue
        device = x509.load_pem_x509_certificate(device_cert.read_bytes()).public_key()
        header = message.header
        key = derive_key(acb, device, header.originator, header.transaction_id, header.recipient)
        if verify_mac(key, message.raw):
            verified += 1
    assert verified > 300
    print(f"\ncommand MACs recomputed from the ACB test key: {verified}")


def test_describe_everything_and_withhold_encrypted_content(corpus, keystore):
    counts: Counter[str] = Counter()
    for path, message in corpus.items():
        described = describe(message.raw, keystore)
        json.dumps(described)
        assert described["kind"] == message.kind
        assert described["counter"] == message.counter
        encrypted_components = 0
        if payload_encoding(message) == "gbz":
            start = message.payload_offset
            gbz = parse_gbz_payload(
                message.raw,
                alert=message.kind == "alert",
                offset=start,
                end=start + len(message.payload),
            )
            encrypted_components = sum(1 for c in gbz.components if c.control & CONTROL_ENCRYPTED)
            withheld_encrypted = [w for w in described["withheld"] if "Encrypted" in w["name"]]
            assert len(withheld_encrypted) == encrypted_components, path
        if described["encrypted"]:
            assert described["withheld"], path
            counts["encrypted"] += 1
        for item in (w for w in described["withheld"] if w["length"] >= 8):
            secret = message.raw[item["offset"] : item["offset"] + item["length"]].hex().upper()
            assert secret not in json.dumps(described["tree"]), path
        counts["withheld items"] += len(described["withheld"])
        counts[
            f"outcome {described['outcome']['status']}" if described["outcome"] else "no outcome"
        ] += 1
    assert counts["encrypted"] > 0
    print(f"\ndescribe: {dict(counts)}")
