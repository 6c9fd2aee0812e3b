"""CbkeParty with certificates from the test CA: success and every way to fail."""

from __future__ import annotations

from dataclasses import replace

import pytest

from webapp.sim.zigbee_ca import TestCa
from webapp.zigbee.cbke.certificate import KEY_USAGE_KEY_AGREEMENT, NO_EXPIRY, parse_certificate
from webapp.zigbee.cbke.credentials import Credentials
from webapp.zigbee.cbke.party import CbkeParty, CbkeState, Role
from webapp.zigbee.cbke.suites import SUITE_1, SuiteId
from webapp.zigbee.frames.key_establishment import (
    ConfirmKeyData,
    EphemeralData,
    InitiateKeyEstablishment,
    TerminateKeyEstablishment,
    TerminateStatus,
    decode_ke,
    encode_ke,
)
from webapp.zigbee.frames.zcl import Direction
from webapp.zigbee.types import EUI64

from ..vectors import annex_c, h

HHT = EUI64.from_hex("00124B0001C0FFEE")
HUB = EUI64.from_hex("00124B00AABBCCDD")
NOW = 1_750_000_000.0
C2S, S2C = Direction.CLIENT_TO_SERVER, Direction.SERVER_TO_CLIENT


@pytest.fixture(scope="module")
def ca() -> TestCa:
    return TestCa.create(seed="party-tests")


@pytest.fixture(scope="module")
def hht(ca: TestCa) -> Credentials:
    return ca.issue(HHT)


@pytest.fixture(scope="module")
def hub(ca: TestCa) -> Credentials:
    return ca.issue(HUB)


def parties(a: Credentials, b: Credentials, **kw) -> tuple[CbkeParty, CbkeParty]:
    return (
        CbkeParty(Role.INITIATOR, a, peer_ieee=b.ieee, now=lambda: NOW, **kw),
        CbkeParty(Role.RESPONDER, b, peer_ieee=a.ieee, now=lambda: NOW, **kw),
    )


def run(initiator: CbkeParty, responder: CbkeParty, tamper=None) -> list[bytes]:
    """Exchange frames until nobody has anything to send; ``tamper`` may alter each frame."""
    sent = []
    frame = initiator.start()
    turn = responder
    while frame is not None:
        if tamper is not None:
            frame = tamper(frame)
        sent.append(frame)
        frame = turn.receive(frame)
        turn = initiator if turn is responder else responder
    return sent


def test_test_ca_credentials_are_consistent(ca: TestCa, hht: Credentials) -> None:
    curve = hht.suite.curve
    assert hht.ieee == HHT
    assert hht.ca_public_key == ca.public_key
    assert curve.mul(hht.private_key, curve.g) == hht.parsed.public_key(hht.ca_point)
    assert len(hht.certificate) == 74
    cert = parse_certificate(hht.certificate, hht.suite)
    assert cert.issuer == ca.issuer and cert.valid_to == NO_EXPIRY


def test_test_ca_is_deterministic_with_a_seed() -> None:
    a, b = TestCa.create(seed=5), TestCa.create(seed=5)
    assert a.private_key == b.private_key
    assert a.issue(HUB) == b.issue(HUB)
    assert TestCa.create(seed=6).private_key != a.private_key
    assert TestCa.create().private_key != TestCa.create().private_key


def test_both_roles_agree(hht: Credentials, hub: Credentials) -> None:
    initiator, responder = parties(hht, hub)
    frames = run(initiator, responder)
    assert [decode_ke(f)[0].direction for f in frames] == [C2S, S2C] * 3
    assert [type(decode_ke(f)[1]) for f in frames] == [
        InitiateKeyEstablishment,
        InitiateKeyEstablishment,
        EphemeralData,
        EphemeralData,
        ConfirmKeyData,
        ConfirmKeyData,
    ]
    assert initiator.done and responder.done
    assert initiator.link_key == responder.link_key and len(initiator.link_key) == 16
    assert responder.peer_certificate.subject == HHT
    assert initiator.peer_ephemeral_data_generate_time == 10
    # a second run gives a fresh key (fresh ephemerals)
    again = parties(hht, hub)
    run(*again)
    assert again[0].link_key != initiator.link_key
    # replies reuse the request's transaction sequence number
    assert [decode_ke(f)[0].tsn for f in frames][:2] == [1, 1]
    # frames after the end are ignored
    assert initiator.receive(frames[-1]) is None and initiator.done


def test_wrong_issuer(hht: Credentials) -> None:
    other = TestCa.create(seed="other", issuer=b"OTHERCA!").issue(HUB)
    initiator, responder = parties(hht, other)
    run(initiator, responder)
    assert responder.terminate_status == TerminateStatus.UNKNOWN_ISSUER
    assert not responder.terminated_by_peer
    assert initiator.terminated_by_peer and initiator.failed
    assert initiator.terminate_status == TerminateStatus.UNKNOWN_ISSUER
    assert initiator.peer_wait_time == 10


@pytest.mark.parametrize(
    ("valid_from", "valid_to"),
    [(int(NOW) - 1000, 999), (int(NOW) + 3600, NO_EXPIRY)],
    ids=["expired", "not-yet-valid"],
)
def test_certificate_outside_validity(
    ca: TestCa, hht: Credentials, valid_from: int, valid_to: int
) -> None:
    hub = ca.issue(HUB, valid_from=valid_from, valid_to=valid_to)
    initiator, responder = parties(hht, hub)
    run(initiator, responder)
    # the responder's certificate is checked by the initiator
    assert initiator.terminate_status == TerminateStatus.INVALID_CERTIFICATE
    assert not initiator.terminated_by_peer and responder.terminated_by_peer
    assert "not valid now" in initiator.failure


def test_certificate_valid_until_its_end(ca: TestCa, hht: Credentials) -> None:
    hub = ca.issue(HUB, valid_from=int(NOW) - 100, valid_to=100, key_usage=KEY_USAGE_KEY_AGREEMENT)
    initiator, responder = parties(hht, hub)
    run(initiator, responder)
    assert initiator.done and responder.done


def test_subject_must_be_the_sender(hht: Credentials, hub: Credentials) -> None:
    initiator = CbkeParty(Role.INITIATOR, hht, peer_ieee=EUI64(1), now=lambda: NOW)
    responder = CbkeParty(Role.RESPONDER, hub, now=lambda: NOW)
    run(initiator, responder)
    assert initiator.terminate_status == TerminateStatus.INVALID_CERTIFICATE


def _mutate_identity(index: int, value: int):
    def tamper(frame: bytes) -> bytes:
        header, cmd = decode_ke(frame)
        if isinstance(cmd, InitiateKeyEstablishment) and header.direction == C2S:
            ident = bytearray(cmd.identity)
            ident[index] = value
            return encode_ke(replace(cmd, identity=bytes(ident)), header.direction, header.tsn)
        return frame

    return tamper


@pytest.mark.parametrize(
    ("index", "value", "status"),
    [
        (0, 0x01, TerminateStatus.INVALID_CERTIFICATE),  # certificate type
        (9, 0x0E, TerminateStatus.INVALID_CERTIFICATE),  # curve
        (10, 0x09, TerminateStatus.INVALID_CERTIFICATE),  # hash
        (37, 0x04, TerminateStatus.INVALID_CERTIFICATE),  # point prefix
        (12, 0x00, TerminateStatus.UNKNOWN_ISSUER),  # issuer octet
        (1, 0x55, TerminateStatus.BAD_KEY_CONFIRM),  # serial: key reconstructs differently
    ],
    ids=["type", "curve", "hash", "point-prefix", "issuer", "serial"],
)
def test_malformed_initiator_certificate(
    hht: Credentials, hub: Credentials, index: int, value: int, status: TerminateStatus
) -> None:
    initiator, responder = parties(hht, hub)
    run(initiator, responder, tamper=_mutate_identity(index, value))
    assert initiator.failed and responder.failed
    assert initiator.terminate_status == responder.terminate_status == status


def test_certificate_point_not_on_curve(hht: Credentials, hub: Credentials) -> None:
    curve = hub.suite.curve
    x = 2
    while True:  # find an x with no curve point
        try:
            curve.decode_point(b"\x02" + curve.field.to_bytes(x))
            x += 1
        except ValueError:
            break
    bad_point = b"\x02" + curve.field.to_bytes(x)

    def tamper(frame: bytes) -> bytes:
        header, cmd = decode_ke(frame)
        if isinstance(cmd, InitiateKeyEstablishment) and header.direction == S2C:
            ident = cmd.identity[:37] + bad_point
            return encode_ke(replace(cmd, identity=ident), header.direction, header.tsn)
        return frame

    initiator, responder = parties(hht, hub)
    run(initiator, responder, tamper=tamper)
    assert initiator.terminate_status == TerminateStatus.INVALID_CERTIFICATE
    assert "reconstruction point" in initiator.failure


def test_truncated_identity_is_a_bad_message(hht: Credentials, hub: Credentials) -> None:
    initiator, responder = parties(hht, hub)
    short = encode_ke(InitiateKeyEstablishment(2, 10, 10, hht.certificate[:-1]), C2S, 1)
    reply = responder.receive(short)
    assert decode_ke(reply)[1] == TerminateKeyEstablishment(TerminateStatus.BAD_MESSAGE, 10, 2)


@pytest.mark.parametrize("which", ["macu", "macv"])
def test_bad_mac(hht: Credentials, hub: Credentials, which: str) -> None:
    direction = C2S if which == "macu" else S2C

    def tamper(frame: bytes) -> bytes:
        header, cmd = decode_ke(frame)
        if isinstance(cmd, ConfirmKeyData) and header.direction == direction:
            return encode_ke(ConfirmKeyData(bytes(16)), header.direction, header.tsn)
        return frame

    initiator, responder = parties(hht, hub)
    run(initiator, responder, tamper=tamper)
    detector, other = (responder, initiator) if which == "macu" else (initiator, responder)
    assert detector.terminate_status == TerminateStatus.BAD_KEY_CONFIRM
    assert other.terminated_by_peer and other.link_key is None and detector.link_key is None


def test_bad_ephemeral_key(hht: Credentials, hub: Credentials) -> None:
    def tamper(frame: bytes) -> bytes:
        header, cmd = decode_ke(frame)
        if isinstance(cmd, EphemeralData):
            return encode_ke(EphemeralData(b"\x05" + cmd.data[1:]), header.direction, header.tsn)
        return frame

    initiator, responder = parties(hht, hub)
    run(initiator, responder, tamper=tamper)
    assert responder.terminate_status == TerminateStatus.BAD_MESSAGE


def test_wrong_suite(hht: Credentials, hub: Credentials) -> None:
    responder = CbkeParty(Role.RESPONDER, hub, now=lambda: NOW)
    offer = encode_ke(InitiateKeyEstablishment(SuiteId.SUITE_1, 10, 10, bytes(48)), C2S, 4)
    header, reply = decode_ke(responder.receive(offer))
    assert header.tsn == 4 and header.direction == S2C
    assert reply == TerminateKeyEstablishment(TerminateStatus.UNSUPPORTED_SUITE, 10, 2)
    assert responder.failed


def test_suite1_party_refuses_suite2_peer(hht: Credentials) -> None:
    f = annex_c(1)["fields"]
    suite1 = Credentials(
        certificate=h(f["responder_certificate"]),
        private_key=int(f["responder_static_private_key"], 16),
        ca_public_key=h(f["ca_public_key"]),
        suite=SUITE_1,
    )
    initiator = CbkeParty(Role.INITIATOR, hht, now=lambda: NOW)
    responder = CbkeParty(Role.RESPONDER, suite1, now=lambda: NOW)
    run(initiator, responder)
    assert initiator.terminate_status == TerminateStatus.UNSUPPORTED_SUITE
    assert initiator.terminated_by_peer


def test_terminate_from_peer_mid_exchange(hht: Credentials, hub: Credentials) -> None:
    initiator, responder = parties(hht, hub)
    rsp = responder.receive(initiator.start())
    initiator.receive(rsp)
    stop = encode_ke(TerminateKeyEstablishment(TerminateStatus.NO_RESOURCES, 30, 2), S2C, 9)
    assert initiator.receive(stop) is None
    assert initiator.failed and initiator.terminated_by_peer
    assert initiator.terminate_status == TerminateStatus.NO_RESOURCES
    assert initiator.peer_wait_time == 30
    assert "NO_RESOURCES" in initiator.failure
    assert initiator.receive(rsp) is None  # nothing after termination


def test_local_terminate(hht: Credentials, hub: Credentials) -> None:
    initiator, responder = parties(hht, hub)
    responder.receive(initiator.start())
    frame = responder.terminate()
    assert decode_ke(frame)[1].status == TerminateStatus.NO_RESOURCES
    initiator.receive(frame)
    assert initiator.failed and responder.failed


def test_out_of_order_and_wrong_direction(hht: Credentials, hub: Credentials) -> None:
    responder = CbkeParty(Role.RESPONDER, hub, now=lambda: NOW)
    early = encode_ke(ConfirmKeyData(bytes(16)), C2S, 1)
    assert decode_ke(responder.receive(early))[1].status == TerminateStatus.BAD_MESSAGE
    responder = CbkeParty(Role.RESPONDER, hub, now=lambda: NOW)
    backwards = encode_ke(InitiateKeyEstablishment(2, 10, 10, hht.certificate), S2C, 1)
    assert decode_ke(responder.receive(backwards))[1].status == TerminateStatus.BAD_MESSAGE
    responder = CbkeParty(Role.RESPONDER, hub, now=lambda: NOW)
    assert decode_ke(responder.receive(b"\x01\x01"))[1].status == TerminateStatus.BAD_MESSAGE


def test_only_an_idle_initiator_starts(hht: Credentials, hub: Credentials) -> None:
    initiator, responder = parties(hht, hub)
    with pytest.raises(RuntimeError):
        responder.start()
    initiator.start()
    with pytest.raises(RuntimeError):
        initiator.start()
    assert initiator.state == CbkeState.AWAIT_INITIATE
