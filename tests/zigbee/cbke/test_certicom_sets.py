"""The Certicom-format certificate sets: valid ones work, corrupted ones fail as expected."""

from __future__ import annotations

import pytest

from webapp.zigbee.cbke.certificate import CertificateError, parse_certificate
from webapp.zigbee.cbke.credentials import Credentials
from webapp.zigbee.cbke.curves import PointError
from webapp.zigbee.cbke.party import CbkeParty, CbkeState, Role
from webapp.zigbee.cbke.suites import SUITES
from webapp.zigbee.frames.key_establishment import TerminateStatus

from ..vectors import certicom_sets, h, set_id, single_certificates

VALID = [e for e in certicom_sets() if "expected_outcome" not in e]
CORRUPTED = [e for e in certicom_sets() if "expected_outcome" in e]

# How each corrupted set must fail: (device whose material is bad, what goes wrong, and
# the Terminate status a CBKE between the two devices ends with).
EXPECTED = {
    "cs1_test1b": ("dev1", "ecqv-error", TerminateStatus.INVALID_CERTIFICATE),
    "cs1_test2b": ("dev2", "private-key", TerminateStatus.BAD_KEY_CONFIRM),
    "cs1_test3b": ("dev1", "ecqv-differs", TerminateStatus.BAD_KEY_CONFIRM),
    "cs1_test4b": ("dev2", "ecqv-differs", TerminateStatus.UNKNOWN_ISSUER),
    "cs2_test1b": ("dev1", "ecqv-differs", TerminateStatus.BAD_KEY_CONFIRM),
    "cs2_test2b": ("dev1", "private-key", TerminateStatus.BAD_KEY_CONFIRM),
    "cs2_test3b": ("dev1", "ecqv-differs", TerminateStatus.UNKNOWN_ISSUER),
    "cs2_test4b": ("dev2", "ecqv-differs", TerminateStatus.BAD_KEY_CONFIRM),
    "cs2_test5b": ("dev2", "private-key", TerminateStatus.BAD_KEY_CONFIRM),
    "cs2_test6b": ("dev2", "bad-ca-key", None),
}


def _credentials(entry: dict, dev: str) -> Credentials:
    f = entry["fields"]
    return Credentials(
        certificate=h(f[f"{dev}_certificate"]),
        private_key=int(f[f"{dev}_private_key"], 16),
        ca_public_key=h(f[f"{dev}_ca_public_key"]),
        suite=SUITES[entry["suite"]],
    )


def _ecqv(entry: dict, dev: str):
    f = entry["fields"]
    suite = SUITES[entry["suite"]]
    cert = parse_certificate(h(f[f"{dev}_certificate"]), suite)
    ca = suite.curve.decode_point(h(f[f"{dev}_ca_public_key"]))
    return cert, cert.public_key(ca)


def _handshake(a: Credentials, b: Credentials) -> tuple[CbkeParty, CbkeParty]:
    initiator = CbkeParty(Role.INITIATOR, a, peer_ieee=b.ieee)
    responder = CbkeParty(Role.RESPONDER, b, peer_ieee=a.ieee)
    frame = initiator.start()
    turn = responder
    while frame is not None:
        frame = turn.receive(frame)
        turn = initiator if turn is responder else responder
    return initiator, responder


def test_all_sets_are_covered() -> None:
    assert len(VALID) == 12
    assert sorted(set_id(e) for e in CORRUPTED) == sorted(EXPECTED)


@pytest.mark.parametrize("entry", VALID, ids=set_id)
def test_valid_set_keys_and_ecqv(entry: dict) -> None:
    f = entry["fields"]
    curve = SUITES[entry["suite"]].curve
    for dev in ("dev1", "dev2"):
        cert, q = _ecqv(entry, dev)
        assert curve.encode_point(q) == h(f[f"{dev}_public_key"])
        assert curve.encode_point(curve.mul(int(f[f"{dev}_private_key"], 16), curve.g)) == h(
            f[f"{dev}_public_key"]
        )
        assert cert.hash_e == int(entry["derived_ecqv_hash_e"][f"{dev}_ecqv_hash_e"], 16)


@pytest.mark.parametrize("entry", VALID, ids=set_id)
def test_valid_set_cbke_both_ways(entry: dict) -> None:
    dev1, dev2 = _credentials(entry, "dev1"), _credentials(entry, "dev2")
    for a, b in ((dev1, dev2), (dev2, dev1)):
        initiator, responder = _handshake(a, b)
        assert initiator.state == responder.state == CbkeState.DONE
        assert initiator.link_key == responder.link_key
        assert len(initiator.link_key or b"") == 16


@pytest.mark.parametrize("entry", CORRUPTED, ids=set_id)
def test_corrupted_set_fails_as_expected(entry: dict) -> None:
    bad, problem, status = EXPECTED[set_id(entry)]
    good = "dev2" if bad == "dev1" else "dev1"
    f = entry["fields"]
    curve = SUITES[entry["suite"]].curve
    # the other device's material is intact
    assert curve.encode_point(_ecqv(entry, good)[1]) == h(f[f"{good}_public_key"])
    if problem == "ecqv-error":
        with pytest.raises(CertificateError):
            _ecqv(entry, bad)
    elif problem == "ecqv-differs":
        assert curve.encode_point(_ecqv(entry, bad)[1]) != h(f[f"{bad}_public_key"])
    elif problem == "private-key":
        assert curve.encode_point(_ecqv(entry, bad)[1]) == h(f[f"{bad}_public_key"])
        private = int(f[f"{bad}_private_key"], 16)
        assert curve.encode_point(curve.mul(private, curve.g)) != h(f[f"{bad}_public_key"])
    elif problem == "bad-ca-key":
        with pytest.raises(PointError):
            curve.decode_point(h(f[f"{bad}_ca_public_key"]))
        with pytest.raises(CertificateError):
            _credentials(entry, bad)
        return
    creds = {dev: _credentials(entry, dev) for dev in ("dev1", "dev2")}
    for a, b in (("dev1", "dev2"), ("dev2", "dev1")):
        initiator, responder = _handshake(creds[a], creds[b])
        assert initiator.state == responder.state == CbkeState.TERMINATED
        assert initiator.link_key is None and responder.link_key is None
        # one side detects the fault and sends Terminate; the other records it
        assert initiator.terminate_status == responder.terminate_status == status
        assert initiator.terminated_by_peer != responder.terminated_by_peer


@pytest.mark.parametrize("entry", single_certificates(), ids=lambda e: f"suite{e['suite']}")
def test_single_certificates(entry: dict) -> None:
    f = entry["fields"]
    suite = SUITES[entry["suite"]]
    cert = parse_certificate(h(f["certificate"]), suite)
    q = cert.public_key(suite.curve.decode_point(h(f["ca_public_key"])))
    assert suite.curve.encode_point(q) == h(f["public_key"])
    assert cert.hash_e == int(entry["derived_ecqv_hash_e"]["device_ecqv_hash_e"], 16)
    assert suite.curve.mul(int(f["private_key"], 16), suite.curve.g) == q
