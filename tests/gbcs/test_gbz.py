from __future__ import annotations

import pytest

from webapp.gbcs.errors import GbcsError
from webapp.gbcs.gbz import (
    CONTROL_ENCRYPTED,
    CONTROL_FROM_DATE_TIME,
    CONTROL_LAST,
    AttributeRecord,
    EncryptedContent,
    GbzComponent,
    ZclFrame,
    build_gbz,
    default_response,
    parse_gbz,
    parse_gbz_payload,
    read_attribute_ids,
    read_attributes_response,
)
from webapp.gbcs.zcl import encode_value, read_attribute_records
from webapp.gbcs.zcl_ids import (
    CMD_DEFAULT_RESPONSE,
    CMD_READ_ATTRIBUTES,
    CMD_READ_ATTRIBUTES_RESPONSE,
    FRAME_CLUSTER_SPECIFIC,
    FRAME_SERVER_TO_CLIENT,
)

from .conftest import WHEN

READ = GbzComponent(0, 0x0702, ZclFrame(0x00, 4, CMD_READ_ATTRIBUTES, bytes.fromhex("00000014")))
SPECIFIC = GbzComponent(0, 0x0705, ZclFrame(FRAME_CLUSTER_SPECIFIC, 5, 0x06, b"\x01\x02\x03"))
DATED = GbzComponent(0, 0x0702, ZclFrame(0x01, 6, 0x08, b"\x00"), from_date_time=WHEN)
SECRET = GbzComponent(
    0, 0x0705, ZclFrame(0x19, 0, 0x01), encrypted=EncryptedContent(0, 0, bytes(40))
)


def test_layout_of_one_component():
    raw = build_gbz([READ])
    assert raw == bytes.fromhex("0109 01 01 0702 0007 00 04 00 00000014".replace(" ", ""))


def test_round_trip_all_component_forms():
    components = [READ, SPECIFIC, DATED, SECRET]
    raw = build_gbz(components)
    parsed = parse_gbz(raw)
    assert [c.cluster_id for c in parsed] == [0x0702, 0x0705, 0x0702, 0x0705]
    assert [c.zcl for c in parsed[:3]] == [READ.zcl, SPECIFIC.zcl, DATED.zcl]
    assert parsed[2].from_date_time == WHEN
    assert parsed[2].control & CONTROL_FROM_DATE_TIME
    assert parsed[3].is_encrypted and parsed[3].encrypted == SECRET.encrypted
    assert parsed[3].control & CONTROL_ENCRYPTED
    assert parsed[3].control & CONTROL_LAST and not parsed[0].control & CONTROL_LAST
    assert build_gbz(parsed) == raw
    assert build_gbz(parsed, mark_last=False) == raw


def test_offsets_index_the_payload():
    raw = build_gbz([READ, SPECIFIC])
    parsed = parse_gbz(raw)
    assert parsed[1].offset == 3 + 5 + 7
    assert raw[parsed[1].zcl_offset] == FRAME_CLUSTER_SPECIFIC
    assert raw[parsed[1].payload_offset :] == SPECIFIC.zcl.payload


def test_alert_forms():
    raw = build_gbz([READ], alert_code=0x8F36, alert_time=WHEN)
    alert = parse_gbz_payload(raw, alert=True)
    assert alert.alert_code == 0x8F36 and alert.alert_time == WHEN
    assert alert.components[0].zcl == READ.zcl
    specific = bytes.fromhex("0E006B00000000000003ED07000906")
    raw = build_gbz([], alert_code=0x8F66, alert_time=WHEN, alert_specific=specific)
    alert = parse_gbz_payload(raw, alert=True)
    assert alert.alert_specific == specific and alert.components == []


def test_default_response():
    response = default_response(SPECIFIC, 0x8A)
    assert response.cluster_id == 0x0705
    assert response.zcl.command_id == CMD_DEFAULT_RESPONSE
    assert response.zcl.frame_control == FRAME_SERVER_TO_CLIENT
    assert response.zcl.sequence == 5
    assert response.zcl.payload == bytes([0x06, 0x8A])
    assert parse_gbz(build_gbz([response]))[0].zcl == response.zcl


def test_read_attributes_response():
    assert read_attribute_ids(READ.zcl) == [0x0000, 0x1400]
    records = [
        AttributeRecord(0x0000, 0, 0x25, encode_value(0x25, 123456)),
        AttributeRecord(0x0014, 0x86),
    ]
    response = read_attributes_response(READ, records)
    assert response.zcl.command_id == CMD_READ_ATTRIBUTES_RESPONSE
    parsed = read_attribute_records(parse_gbz(build_gbz([response]))[0].zcl.payload)
    assert parsed[0].attribute_id == 0 and parsed[0].value.value == 123456
    assert parsed[1].status == 0x86 and parsed[1].value is None
    with pytest.raises(ValueError):
        read_attributes_response(READ, [AttributeRecord(1)])


@pytest.mark.parametrize(
    ("raw", "offset"),
    [
        (bytes.fromhex("0108"), 0),
        (bytes.fromhex("010901"), 3),
        (bytes.fromhex("0109010107020009000400"), 8),
        (bytes.fromhex("01090101070200030004"), 8),
        (bytes.fromhex("0109010107020003000400FF"), 11),
        (bytes.fromhex("01090103070500070000190001000F"), 13),
    ],
)
def test_malformed(raw: bytes, offset: int):
    with pytest.raises(GbcsError) as info:
        parse_gbz(raw)
    assert info.value.offset == offset


def test_every_truncation_is_an_error():
    raw = build_gbz([READ, DATED, SECRET])
    for cut in range(len(raw)):
        with pytest.raises(GbcsError):
            parse_gbz(raw[:cut])
