"""`hht parse`: readable text, one JSON object per input, exit 2 on malformed input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from webapp.gbcs.header import Cra, GroupingHeader, OtherInfo
from webapp.gbcs.message import build_general_signing, wrap_general_ciphering

HHT = str(Path(sys.executable).with_name("hht"))
SUPPLIER = bytes.fromhex("90B3D51F30DE0001")
ESME = bytes.fromhex("70B3D5F6E5C15B62")


def _command() -> bytes:
    header = GroupingHeader(
        cra=Cra.COMMAND,
        counter=1_000_001,
        originator=SUPPLIER,
        recipient=ESME,
        date_time=None,
        other_info=OtherInfo(message_code=0x0027),
    )
    payload = bytes.fromhex("01090101070200050001000000")
    key = ec.generate_private_key(ec.SECP256R1())
    return wrap_general_ciphering(build_general_signing(header, payload, key), bytes(16), SUPPLIER)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([HHT, "parse", *args], capture_output=True, text=True, timeout=60)


def test_json_output_has_the_documented_fields(tmp_path):
    message = _command()
    hex_file = tmp_path / "cmd.hex"
    hex_file.write_text(message.hex().upper() + "\n")
    result = run("--json", str(hex_file), message.hex())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        doc = json.loads(line)
        for key in (
            "source",
            "kind",
            "message_code",
            "use_case",
            "use_case_name",
            "originator",
            "recipient",
            "counter",
            "date_time",
            "signature",
            "mac",
            "payload_kind",
            "encrypted",
            "withheld",
            "outcome",
            "tree",
        ):
            assert key in doc, key
        assert doc["kind"] == "command"
        assert doc["use_case"] == "ECS17b"
        assert doc["originator"] == SUPPLIER.hex().upper()
        assert doc["recipient"] == ESME.hex().upper()
        assert doc["counter"] == 1_000_001
        assert doc["mac"] == "present-not-verifiable"
        assert doc["signature"] == "signer-unknown"
    assert json.loads(lines[0])["source"] == str(hex_file)


def test_text_output_is_a_readable_tree():
    result = run(_command().hex())
    assert result.returncode == 0
    assert "ECS17b" in result.stdout and "Grouping Header" in result.stdout


def test_malformed_input_exits_2_with_the_reason_on_stderr():
    good = _command().hex()
    result = run("--json", good, good[:40], "not-hex-at-all!")
    assert result.returncode == 2
    assert len(result.stdout.strip().splitlines()) == 1  # the good one still printed
    assert "malformed GBCS: at byte" in result.stderr
