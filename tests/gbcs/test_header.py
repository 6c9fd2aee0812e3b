from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from webapp.gbcs.errors import GbcsError
from webapp.gbcs.header import (
    Cra,
    GroupingHeader,
    OtherInfo,
    build_grouping_header,
    parse_grouping_header,
)

from .conftest import ESME, SUPPLIER, WHEN, make_header

CERTIFICATE = bytes.fromhex("3082000d") + bytes(13)

OTHER_INFO_FORMS = [
    OtherInfo(0x0027),
    OtherInfo(0x0123, supplementary_remote_party_id=SUPPLIER),
    OtherInfo(0x0129, SUPPLIER, 0x3E8),
    OtherInfo(0x0096, SUPPLIER, 0x44C, supplementary_originator_counter=0x7D0),
    OtherInfo(0x0108, SUPPLIER, 0x3EB, certificate=CERTIFICATE),
    OtherInfo(0x0108, SUPPLIER, 7, certificate=bytes(300)),
]


@pytest.mark.parametrize("cra", list(Cra))
@pytest.mark.parametrize("date_time", [None, WHEN])
@pytest.mark.parametrize("other_info", OTHER_INFO_FORMS)
def test_round_trip_every_form(cra: Cra, date_time: datetime | None, other_info: OtherInfo):
    header = make_header(cra, 0x1122334455667788, date_time=date_time, other_info=other_info)
    raw = build_grouping_header(header)
    parsed, end = parse_grouping_header(b"\xaa" + raw + b"\x05", 1)
    assert parsed == header
    assert end == 1 + len(raw)
    assert parsed.message_code == other_info.message_code
    assert parsed.other_info == other_info
    assert build_grouping_header(parsed) == raw


def test_field_layout():
    raw = build_grouping_header(make_header(Cra.RESPONSE, 0x3E8, 0x00B3, date_time=WHEN))
    assert raw[:3] == bytes([0xDF, 0x09, 0x02])
    assert raw[3:11] == (0x3E8).to_bytes(8, "big")
    assert raw[11] == 8 and raw[12:20] == SUPPLIER
    assert raw[20] == 8 and raw[21:29] == ESME
    assert raw[29] == 0x0C
    assert raw[30:32] == (2024).to_bytes(2, "big")
    assert raw[42:] == bytes([2, 0x00, 0xB3])


def test_header_date_time_keeps_its_encoding():
    raw_time = bytes.fromhex("07DF0101FF000000008000") + b"\x04"
    raw = (
        bytes([0xDF, 9, 1])
        + bytes(8)
        + b"\x08"
        + SUPPLIER
        + b"\x08"
        + ESME
        + b"\x0c"
        + raw_time
        + b"\x02\x00\x01"
    )
    header, _ = parse_grouping_header(raw, 0)
    assert header.date_time == datetime(2015, 1, 1, tzinfo=UTC)
    assert build_grouping_header(header) == raw


def test_deviation_gives_an_offset():
    raw_time = bytes.fromhex("07E80517FF0A0000FFFFC4FF")  # deviation -60 minutes
    raw = bytes([0xDF, 9, 1]) + bytes(8) + b"\x08" + SUPPLIER + b"\x08" + ESME
    raw += b"\x0c" + raw_time + b"\x02\x00\x01"
    header, _ = parse_grouping_header(raw, 0)
    assert header.date_time == datetime(2024, 5, 23, 10, tzinfo=timezone(timedelta(hours=1)))


def test_transaction_id():
    header = make_header(Cra.ALERT, 5)
    assert header.transaction_id == b"\x03" + (5).to_bytes(8, "big")


@pytest.mark.parametrize(
    ("mutate", "offset", "expected"),
    [
        (lambda b: b"\xde" + b[1:], 0, "General-Signing tag"),
        (lambda b: b[:1] + b"\x0a" + b[2:], 1, "transaction id length"),
        (lambda b: b[:2] + b"\x04" + b[3:], 2, "CRA flag"),
        (lambda b: b[:11] + b"\x07" + b[12:], 11, "originator system title length"),
        (lambda b: b[:20] + b"\x09" + b[21:], 20, "recipient system title length"),
        (lambda b: b[:29] + b"\x05" + b[30:], 29, "date-time length"),
        (lambda b: b[:30] + b"\x05" + b[31:], 30, "other-information length"),
    ],
)
def test_garbled_fields_report_their_offset(mutate, offset: int, expected: str):
    raw = build_grouping_header(make_header())
    with pytest.raises(GbcsError) as info:
        parse_grouping_header(mutate(raw), 0)
    assert info.value.offset == offset
    assert expected in info.value.expected
    assert str(info.value).startswith(f"at byte {offset}: expected ")


def test_invalid_date_is_an_error():
    raw = bytes([0xDF, 9, 1]) + bytes(8) + b"\x08" + SUPPLIER + b"\x08" + ESME
    raw += b"\x0c" + bytes.fromhex("07E80D01FF000000008000FF") + b"\x02\x00\x01"
    with pytest.raises(GbcsError) as info:
        parse_grouping_header(raw, 0)
    assert info.value.offset == 30


def test_every_truncation_is_a_gbcs_error():
    raw = build_grouping_header(make_header(date_time=WHEN, other_info=OTHER_INFO_FORMS[4]))
    for cut in range(len(raw)):
        with pytest.raises(GbcsError) as info:
            parse_grouping_header(raw[:cut], 0)
        assert 0 <= info.value.offset <= cut


@pytest.mark.parametrize(
    "info",
    [
        OtherInfo(0x10000),
        OtherInfo(1, supplementary_remote_party_id=b"\x01"),
        OtherInfo(1, supplementary_counter=5),
        OtherInfo(1, SUPPLIER, None, certificate=CERTIFICATE),
        OtherInfo(1, SUPPLIER, 1, certificate=b"\x30\x00"),
        OtherInfo(1, SUPPLIER, 1, certificate=CERTIFICATE, supplementary_originator_counter=1),
    ],
)
def test_inconsistent_other_info_is_refused(info: OtherInfo):
    with pytest.raises(ValueError):
        build_grouping_header(make_header(other_info=info))


def test_bad_titles_and_counters_are_refused():
    with pytest.raises(ValueError):
        build_grouping_header(make_header(originator=b"\x01" * 7))
    with pytest.raises(ValueError):
        build_grouping_header(
            GroupingHeader(Cra.COMMAND, 1 << 64, SUPPLIER, ESME, None, OtherInfo(1))
        )
