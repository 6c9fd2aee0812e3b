"""The codec's builders (DLMS, DER, Smart Energy cluster commands) read back as built."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from webapp.gbcs import der_build as der
from webapp.gbcs import dlms_build as dlms
from webapp.gbcs.asn1 import parse_der
from webapp.gbcs.datetimes import decode_dlms_datetime, encode_zcl_time
from webapp.gbcs.dlms import ACCESS_REQUEST, ACCESS_RESPONSE, format_obis, parse_dlms, read_data
from webapp.gbcs.gbz import build_gbz, parse_gbz
from webapp.gbcs.gbz_view import gbz_tree
from webapp.gbcs.reader import Reader
from webapp.gbcs.tree import ViewContext
from webapp.gbcs.zcl_build import cluster_component, encode_field
from webapp.gbcs.zcl_clusters import Field
from webapp.gbcs.zcl_ids import CLUSTER_CALENDAR, CLUSTER_PRICE

WHEN = datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)


def test_dlms_values_read_back() -> None:
    built = dlms.structure(
        dlms.null_data(),
        dlms.boolean(True),
        dlms.enum(5),
        dlms.integer(-4),
        dlms.unsigned(200),
        dlms.long(-20000),
        dlms.long_unsigned(65535),
        dlms.double_long(-70000),
        dlms.double_long_unsigned(4_000_000_000),
        dlms.octet_string(bytes(200)),
        dlms.visible_string("HHT"),
        dlms.array([dlms.unsigned(1), dlms.unsigned(2)]),
        dlms.date_time(WHEN),
    )
    value = read_data(Reader(built))
    assert value.length == len(built)
    items = [item.value for item in value.value]
    assert items[:9] == [None, True, 5, -4, 200, -20000, 65535, -70000, 4_000_000_000]
    assert items[9] == bytes(200)  # a length past 127 takes the long form
    assert items[10] == "HHT"
    assert [i.value for i in items[11]] == [1, 2]
    assert decode_dlms_datetime(items[12]) == WHEN


def test_dlms_dates_times_and_obis() -> None:
    assert dlms.date_time(None)[2:] == b"\xff" * 9 + b"\x80\x00\xff"
    assert dlms.date_time_now()[2:] == bytes(9) + b"\x80\x00\xff"
    assert dlms.time_of_day(7, 30) == b"\x09\x04\x07\x1e\x00\xff"
    assert dlms.date(None, 12, 25) == b"\x09\x05\xff\xff\x0c\x19\xff"
    assert dlms.date(2026, 1, 1)[2:4] == (2026).to_bytes(2, "big")
    assert format_obis(dlms.obis("0-0:13.0.0.255")) == "0-0:13.0.0.255"
    with pytest.raises(ValueError, match="six groups"):
        dlms.obis("0-0:13.0.255")


def test_access_request_reads_back() -> None:
    invoke = dlms.invoke_id(0x0102_0304_0506)
    assert invoke == 0x2004_0506
    raw = dlms.access_request(
        invoke,
        [
            (dlms.set_attribute(8, "0-0:1.0.0.255", 9), dlms.enum(5)),
            (dlms.call_method(104, "0-0:30.3.0.255", 1), dlms.structure(dlms.enum(1))),
            (dlms.get_attribute(1, "0-0:0.2.1.255", 2), dlms.null_data()),
        ],
    )
    apdu = parse_dlms(raw)
    assert apdu.tag == ACCESS_REQUEST and apdu.invoke_id == invoke and apdu.date_time is None
    assert [(r.name, r.target.class_id, r.target.member_id) for r in apdu.requests] == [
        ("set", 8, 9),
        ("action", 104, 1),
        ("get", 1, 2),
    ]
    assert format_obis(apdu.requests[1].target.instance) == "0-0:30.3.0.255"
    assert [d.type_name for d in apdu.data] == ["enum", "structure", "null-data"]
    with pytest.raises(ValueError, match="not get, set, action or get-with-selection"):
        dlms.Target(5, 1, "0-0:0.2.1.255", 2).encode()


def test_a_get_with_selection_and_a_compact_array_read_back() -> None:
    selection = dlms.structure(dlms.double_long_unsigned(10), dlms.double_long_unsigned(20))
    target = dlms.get_with_selection(7, "0-0:99.98.0.255", 2, 1, selection)
    apdu = parse_dlms(dlms.access_request(1, [(target, dlms.null_data())]))
    spec = apdu.requests[0]
    assert (spec.name, spec.target.class_id, spec.target.selector) == ("get-with-selection", 7, 1)
    assert [d.value for d in spec.target.selection.value] == [10, 20]
    rows = [
        dlms.untagged(dlms.double_long_unsigned(at)) + dlms.untagged(dlms.long_unsigned(code))
        for at, code in ((11, 0x8F01), (19, 0x8145))
    ]
    array = dlms.compact_array(
        dlms.structure_type(dlms.DOUBLE_LONG_UNSIGNED, dlms.LONG_UNSIGNED), rows
    )
    answer = parse_dlms(dlms.access_response(1, [(dlms.GET, array, 0)]))
    assert answer.data[0].type_name == "compact-array"
    assert [[f.value for f in row.value] for row in answer.data[0].value] == [
        [11, 0x8F01],
        [19, 0x8145],
    ]


def test_access_response_reads_back() -> None:
    raw = dlms.access_response(
        0x200003E8,
        [(dlms.SET, dlms.null_data(), 0), (dlms.GET, dlms.octet_string(b"\x01\x02"), 4)],
        when=WHEN,
    )
    apdu = parse_dlms(raw)
    assert apdu.tag == ACCESS_RESPONSE and apdu.invoke_id == 0x200003E8
    assert decode_dlms_datetime(apdu.date_time) == WHEN
    assert [d.value for d in apdu.data] == [None, b"\x01\x02"]
    assert [(r.name, r.result_name) for r in apdu.results] == [
        ("set", "success"),
        ("get", "object-undefined"),
    ]
    with pytest.raises(ValueError, match="not get, set or action"):
        dlms.access_response(1, [(5, dlms.null_data(), 0)])


def test_der_values_read_back() -> None:
    raw = der.sequence(
        der.integer(0), der.integer(300), der.integer(-2), der.octet_string(b"\xab" * 130)
    )
    node = parse_der(raw)
    assert [child.integer() for child in node.children[:3]] == [0, 300, -2]
    assert node.children[3].content == b"\xab" * 130
    stamp = parse_der(der.generalized_time(WHEN.replace(tzinfo=None)))
    assert stamp.content == b"20260302093015Z"


def test_cluster_commands_read_back_field_by_field() -> None:
    tariff = cluster_component(
        CLUSTER_PRICE,
        0x05,
        {
            "Provider Id": 7,
            "Issuer Event Id": 9,
            "Start Time": WHEN,
            "Issuer Tariff Id": 1,
            "Command Index": 0,
            "Number of Commands": 1,
            "Sub-payload Control": 1,
            "Price": [{"Tier / Block Id": 1, "Price": 6240}, {"Tier / Block Id": 2, "Price": 9}],
        },
        sequence=4,
    )
    seasons = cluster_component(
        CLUSTER_CALENDAR,
        0x04,
        {
            "Provider Id": 7,
            "Issuer Event Id": 9,
            "Issuer Calendar Id": 9,
            "Start Time": None,
            "Calendar Type": 0,
            "Number of Special Days": 1,
            "Command Index": 0,
            "Number of Commands": 1,
            "Special Day": [{"Date": date(2026, 12, 25), "Day Id Ref": 2}],
        },
        sequence=5,
    )
    raw = build_gbz([tariff, seasons])
    assert [c.zcl.sequence for c in parse_gbz(raw)] == [4, 5]
    nodes, _ = gbz_tree(raw, 0, len(raw), ViewContext(), alert=False)
    price, special = (n for n in nodes if n["name"].startswith("GBZ Component"))
    fields = {n["name"]: n for n in price["children"][-1]["children"]}
    assert fields["Start Time"]["value"] == WHEN.isoformat()
    assert [c["value"] for c in fields["Price 2"]["children"]] == ["2", "9"]
    days = {n["name"]: n for n in special["children"][-1]["children"]}
    assert [c["value"] for c in days["Special Day 1"]["children"]] == ["2026-12-25", "2"]
    assert "Unparsed" not in str(nodes)
    assert encode_zcl_time(WHEN).to_bytes(4, "little") in raw


def test_cluster_command_errors() -> None:
    with pytest.raises(ValueError, match="no command 0x7F"):
        cluster_component(CLUSTER_PRICE, 0x7F, {}, sequence=0)
    with pytest.raises(KeyError):
        cluster_component(CLUSTER_CALENDAR, 0x02, {"Provider Id": 1}, sequence=0)
    with pytest.raises(ValueError, match="7 octets"):
        encode_field(Field("Day Id Refs", "bytes7"), b"\x01")
    assert encode_field(Field("Season Start Date", "date"), (3, 20)) == b"\xff\x03\x14\xff"
    assert encode_field(Field("Start", "minutes"), (7, 30)) == (450).to_bytes(2, "little")
