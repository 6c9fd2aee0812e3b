from __future__ import annotations

import pytest

from webapp.gbcs.gbz import (
    AttributeRecord,
    EncryptedContent,
    GbzComponent,
    ZclFrame,
    build_gbz,
    default_response,
    read_attributes_response,
)
from webapp.gbcs.header import Cra
from webapp.gbcs.message import build_general_signing, parse_message
from webapp.gbcs.outcome import Outcome, response_outcome
from webapp.gbcs.zcl_ids import CMD_READ_ATTRIBUTES, FRAME_CLUSTER_SPECIFIC

from .conftest import ESME, SUPPLIER, WHEN, make_header

READ = GbzComponent(0, 0x0702, ZclFrame(0, 1, CMD_READ_ATTRIBUTES, b"\x00\x00"))
TOP_UP = GbzComponent(0, 0x0705, ZclFrame(FRAME_CLUSTER_SPECIFIC, 2, 0x04, b""))


def _response(payload: bytes, code: int = 0x0027, cra: Cra = Cra.RESPONSE):
    header = make_header(cra, 5, code, originator=ESME, recipient=SUPPLIER)
    return parse_message(build_general_signing(header, payload, None))


def test_gbz_default_responses():
    ok = build_gbz([default_response(TOP_UP), default_response(READ)])
    assert response_outcome(_response(ok)) == Outcome("success", None)
    bad = build_gbz([default_response(TOP_UP), default_response(READ, 0xC0)])
    outcome = response_outcome(_response(bad))
    assert outcome.status == "failure"
    assert "component 2" in outcome.reason and "HARDWARE_FAILURE" in outcome.reason
    nothing = response_outcome(_response(build_gbz([default_response(READ, 0x8B)])))
    assert nothing.status == "success" and "nothing found" in nothing.reason


def test_gbz_read_attributes():
    good = read_attributes_response(READ, [AttributeRecord(0, 0, 0x20, b"\x05")])
    assert response_outcome(_response(build_gbz([good]))).status == "success"
    bad = read_attributes_response(READ, [AttributeRecord(0, 0x86)])
    outcome = response_outcome(_response(build_gbz([bad])))
    assert outcome.status == "failure" and "UNSUPPORTED_ATTRIBUTE" in outcome.reason


def test_gbz_cluster_specific_responses():
    rejected = GbzComponent(0, 0x0705, ZclFrame(0x19, 0, 0x03, bytes.fromhex("01ffffffff00")))
    assert response_outcome(_response(build_gbz([rejected]))).status == "failure"
    cleared_nothing = GbzComponent(0, 0x0709, ZclFrame(0x09, 0, 0x02, b"\x00"))
    assert response_outcome(_response(build_gbz([cleared_nothing]))).status == "failure"


def test_encrypted_only_is_unknown():
    secret = GbzComponent(
        0, 0x0702, ZclFrame(0x19, 0, 6), encrypted=EncryptedContent(0, 0, bytes(30))
    )
    outcome = response_outcome(_response(build_gbz([secret])))
    assert outcome.status == "unknown" and "encrypted" in outcome.reason


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ("DA200003E8000003000000030300030003 00", "success"),
        ("DA200003E8000003000000030300030103FA", "failure"),
        ("DA200003E800000109040123ABCD010100", "success"),
        ("DA200003E800000100010103", "failure"),
    ],
)
def test_dlms_access_response(payload: str, status: str):
    outcome = response_outcome(_response(bytes.fromhex(payload.replace(" ", "")), 0x00B3))
    assert outcome.status == status
    if status == "failure":
        assert outcome.reason


@pytest.mark.parametrize(
    ("payload", "code", "status"),
    [
        ("020100", 0x000D, "success"),
        ("02010B", 0x00AF, "failure"),
        ("3003020101", 0x0013, "failure"),
        (
            "3032020100302d300d04080102030405060708020103300d040800db123456789099020103"
            "300d040800db123456789097020105",
            0x0013,
            "success",
        ),
        ("300904040123abcd020100", 0x0129, "success"),
        ("3009040400000000020101", 0x0129, "failure"),
    ],
)
def test_asn1_results(payload: str, code: int, status: str):
    outcome = response_outcome(_response(bytes.fromhex(payload), code))
    assert outcome.status == status


def test_commands_and_alerts():
    command = parse_message(build_general_signing(make_header(), b"\x00", None))
    assert response_outcome(command).status == "unknown"
    failed = build_gbz(
        [], alert_code=0x8F67, alert_time=WHEN, alert_specific=bytes.fromhex("0E" + "00" * 14)
    )
    outcome = response_outcome(_response(failed, 0x00CD, Cra.ALERT))
    assert outcome.status == "failure" and "0x8F67" in outcome.reason
    fine = build_gbz(
        [], alert_code=0x8F66, alert_time=WHEN, alert_specific=bytes.fromhex("0E" + "00" * 14)
    )
    assert response_outcome(_response(fine, 0x00CD, Cra.ALERT)).status == "unknown"
    dlms = bytes.fromhex("0F200007D300020212" + "8F36" + "090C07DF0101FF000000008000FF")
    outcome = response_outcome(_response(dlms, 0x0067, Cra.ALERT))
    assert outcome.status == "unknown" and "0x8F36" in outcome.reason


def test_garbled_payload_never_raises():
    outcome = response_outcome(_response(b"\x01\x09\x05\x00"))
    assert outcome.status == "unknown" and "could not be decoded" in outcome.reason
    assert response_outcome(_response(b"\x77")).status == "unknown"
    assert response_outcome(_response(bytes.fromhex("DA2000"), 0x00B3)).status == "unknown"
