"""DLMS COSEM payloads in GBCS: Access-Request (D9), Access-Response (DA), Data-Notification (0F).

All are A-XDR encoded. Access-Request: ``D9``, long-invoke-id-and-priority (4), date-time
(octet string, ``00`` when absent), SEQUENCE OF access-request-specification, SEQUENCE OF
Data. Access-Response: ``DA``, invoke id, date-time, optional access-request-specification
list (``00`` absent), SEQUENCE OF Data, SEQUENCE OF access-response-specification (each a
choice tag and a result). Data-Notification: ``0F``, invoke id, date-time, one Data.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from .reader import Reader
from .records import record

ACCESS_REQUEST = 0xD9
ACCESS_RESPONSE = 0xDA
DATA_NOTIFICATION = 0x0F
DLMS_TAGS = (ACCESS_REQUEST, ACCESS_RESPONSE, DATA_NOTIFICATION)
MAX_DEPTH = 32

DATA_TYPE_NAMES = {
    0: "null-data",
    1: "array",
    2: "structure",
    3: "boolean",
    4: "bit-string",
    5: "double-long",
    6: "double-long-unsigned",
    9: "octet-string",
    10: "visible-string",
    12: "utf8-string",
    13: "bcd",
    15: "integer",
    16: "long",
    17: "unsigned",
    18: "long-unsigned",
    19: "compact-array",
    20: "long64",
    21: "long64-unsigned",
    22: "enum",
    23: "float32",
    24: "float64",
    25: "date-time",
    26: "date",
    27: "time",
    255: "dont-care",
}
# tag -> (size in octets, signed)
_FIXED = {
    3: (1, False),
    5: (4, True),
    6: (4, False),
    13: (1, False),
    15: (1, True),
    16: (2, True),
    17: (1, False),
    18: (2, False),
    20: (8, True),
    21: (8, False),
    22: (1, False),
}
_RAW_FIXED = {23: 4, 24: 8, 25: 12, 26: 5, 27: 4}
_STRINGS = (9, 10, 12)

DATA_ACCESS_RESULTS = {
    0: "success",
    1: "hardware-fault",
    2: "temporary-failure",
    3: "read-write-denied",
    4: "object-undefined",
    9: "object-class-inconsistent",
    11: "object-unavailable",
    12: "type-unmatched",
    13: "scope-of-access-violated",
    14: "data-block-unavailable",
    15: "long-get-aborted",
    16: "no-long-get-in-progress",
    17: "long-set-aborted",
    18: "no-long-set-in-progress",
    19: "data-block-number-invalid",
    250: "other-reason",
}
ACTION_RESULTS = {
    0: "success",
    1: "hardware-fault",
    2: "temporary-failure",
    3: "read-write-denied",
    4: "object-undefined",
    9: "object-class-inconsistent",
    11: "object-unavailable",
    12: "type-unmatched",
    13: "scope-of-access-violated",
    14: "data-block-unavailable",
    15: "long-action-aborted",
    16: "no-long-action-in-progress",
    250: "other-reason",
}
REQUEST_CHOICES = {
    1: "get",
    2: "set",
    3: "action",
    4: "get-with-selection",
    5: "set-with-selection",
}
RESPONSE_CHOICES = {1: "get", 2: "set", 3: "action"}


@record
class DlmsData:
    """One A-XDR Data value. ``value`` is None, bool, int, bytes, str or list[DlmsData]."""

    tag: int
    value: Any
    offset: int
    length: int
    bit_length: int | None = None

    @property
    def type_name(self) -> str:
        return DATA_TYPE_NAMES.get(self.tag, f"type {self.tag}")


@record
class CosemReference:
    class_id: int
    instance: bytes
    member_id: int
    offset: int
    selector: int | None = None
    selection: DlmsData | None = None


@record
class RequestSpec:
    choice: int
    target: CosemReference
    offset: int

    @property
    def name(self) -> str:
        return REQUEST_CHOICES.get(self.choice, f"choice {self.choice}")


@record
class ResponseSpec:
    choice: int
    result: int
    offset: int

    @property
    def name(self) -> str:
        return RESPONSE_CHOICES.get(self.choice, f"choice {self.choice}")

    @property
    def result_name(self) -> str:
        table = ACTION_RESULTS if self.choice == 3 else DATA_ACCESS_RESULTS
        return table.get(self.result, f"result {self.result}")


@record
class DlmsApdu:
    tag: int
    invoke_id: int
    date_time: bytes | None
    offset: int
    length: int
    requests: list[RequestSpec] = field(default_factory=list)
    data: list[DlmsData] = field(default_factory=list)
    results: list[ResponseSpec] = field(default_factory=list)
    body: DlmsData | None = None

    @property
    def name(self) -> str:
        return {
            ACCESS_REQUEST: "Access-Request",
            ACCESS_RESPONSE: "Access-Response",
            DATA_NOTIFICATION: "Data-Notification",
        }[self.tag]


def parse_dlms(data: bytes, offset: int = 0, end: int | None = None) -> DlmsApdu:
    """Parse the DLMS APDU in ``data[offset:end]``; it must fill that range exactly."""
    reader = Reader(data, offset, end)
    start = reader.pos
    tag_offset = reader.pos
    tag = reader.u8("DLMS APDU tag")
    if tag not in DLMS_TAGS:
        raise reader.fail("DLMS tag 0xD9, 0xDA or 0x0F", f"0x{tag:02X}", tag_offset)
    invoke_id = reader.uint(4, "long-invoke-id-and-priority")
    date_time = _read_octet_string(reader, "date-time") or None
    apdu: DlmsApdu
    if tag == ACCESS_REQUEST:
        requests = [_read_request_spec(reader) for _ in range(_count(reader, "specifications"))]
        values = [read_data(reader) for _ in range(_count(reader, "list of data"))]
        apdu = DlmsApdu(tag, invoke_id, date_time, start, 0, requests=requests, data=values)
    elif tag == ACCESS_RESPONSE:
        requests = []
        if reader.u8("access-request-specification presence"):
            requests = [_read_request_spec(reader) for _ in range(_count(reader, "specifications"))]
        values = [read_data(reader) for _ in range(_count(reader, "list of data"))]
        results = [_read_response_spec(reader) for _ in range(_count(reader, "results"))]
        apdu = DlmsApdu(
            tag, invoke_id, date_time, start, 0, requests=requests, data=values, results=results
        )
    else:
        body = read_data(reader)
        apdu = DlmsApdu(tag, invoke_id, date_time, start, 0, body=body)
    if not reader.at_end:
        raise reader.fail("end of DLMS APDU", f"{reader.remaining} more byte(s)")
    return DlmsApdu(**{**apdu.__dict__, "length": reader.pos - start})


def _count(reader: Reader, what: str) -> int:
    count = reader.ber_length(what)
    if count > reader.remaining:
        raise reader.fail(f"at most {reader.remaining} {what}", str(count), reader.pos - 1)
    return count


def _read_octet_string(reader: Reader, what: str) -> bytes:
    length = reader.ber_length(what)
    return reader.take(length, what)


def _read_reference(reader: Reader, *, method: bool) -> CosemReference:
    start = reader.pos
    class_id = reader.uint(2, "COSEM class id")
    instance = reader.take(6, "COSEM instance id (OBIS)")
    member = reader.sint(1, "method id" if method else "attribute id")
    return CosemReference(class_id, instance, member, start)


def _read_request_spec(reader: Reader) -> RequestSpec:
    start = reader.pos
    choice = reader.u8("access-request-specification choice")
    if choice not in REQUEST_CHOICES:
        raise reader.fail("access-request-specification choice 1..5", str(choice), start)
    target = _read_reference(reader, method=choice == 3)
    if choice in (4, 5):
        selector = reader.u8("access selector")
        selection = read_data(reader)
        target = CosemReference(
            target.class_id, target.instance, target.member_id, target.offset, selector, selection
        )
    return RequestSpec(choice, target, start)


def _read_response_spec(reader: Reader) -> ResponseSpec:
    start = reader.pos
    choice = reader.u8("access-response-specification choice")
    if choice not in RESPONSE_CHOICES:
        raise reader.fail("access-response-specification choice 1..3", str(choice), start)
    return ResponseSpec(choice, reader.u8("result"), start)


def read_data(reader: Reader, depth: int = 0) -> DlmsData:
    """Read one A-XDR Data value."""
    if depth > MAX_DEPTH:
        raise reader.fail("Data nested less deeply")
    start = reader.pos
    tag = reader.u8("Data type tag")
    if tag == 0 or tag == 255:
        return DlmsData(tag, None, start, 1)
    if tag in (1, 2):
        count = _count(reader, "elements")
        items = [read_data(reader, depth + 1) for _ in range(count)]
        return DlmsData(tag, items, start, reader.pos - start)
    if tag in _FIXED:
        size, signed = _FIXED[tag]
        number = reader.sint(size, DATA_TYPE_NAMES[tag]) if signed else reader.uint(size, "value")
        value: Any = bool(number) if tag == 3 else number
        return DlmsData(tag, value, start, reader.pos - start)
    if tag in _RAW_FIXED:
        raw = reader.take(_RAW_FIXED[tag], DATA_TYPE_NAMES[tag])
        return DlmsData(tag, raw, start, reader.pos - start)
    if tag in _STRINGS:
        raw = _read_octet_string(reader, DATA_TYPE_NAMES[tag])
        value = raw
        if tag != 9:
            value = raw.decode("utf-8" if tag == 12 else "latin-1", errors="replace")
        return DlmsData(tag, value, start, reader.pos - start)
    if tag == 4:
        bits = reader.ber_length("bit-string")
        raw = reader.take((bits + 7) // 8, "bit-string")
        return DlmsData(tag, raw, start, reader.pos - start, bit_length=bits)
    if tag == 19:
        return _read_compact_array(reader, start, depth)
    raise reader.fail("a DLMS Data type", f"tag {tag}", start)


@record
class _TypeDescription:
    tag: int
    count: int = 0
    children: tuple[_TypeDescription, ...] = ()


def _read_type_description(reader: Reader, depth: int) -> _TypeDescription:
    if depth > MAX_DEPTH:
        raise reader.fail("a type description nested less deeply")
    start = reader.pos
    tag = reader.u8("type description tag")
    if tag == 1:
        count = reader.uint(2, "compact array element count")
        return _TypeDescription(1, count, (_read_type_description(reader, depth + 1),))
    if tag == 2:
        count = _count(reader, "structure elements")
        children = tuple(_read_type_description(reader, depth + 1) for _ in range(count))
        return _TypeDescription(2, count, children)
    if tag in _FIXED or tag in _RAW_FIXED or tag in _STRINGS or tag in (0, 4):
        return _TypeDescription(tag)
    raise reader.fail("a type description tag", f"tag {tag}", start)


def _read_compact_array(reader: Reader, start: int, depth: int) -> DlmsData:
    description = _read_type_description(reader, depth + 1)
    length = reader.ber_length("compact array contents")
    contents = reader.sub(length, "compact array contents")
    items = []
    while not contents.at_end:
        before = contents.pos
        items.append(_read_described(contents, description, depth + 1))
        if contents.pos == before:  # elements of no octets would repeat for ever
            raise contents.fail("compact array elements that take octets", offset=before)
    return DlmsData(19, items, start, reader.pos - start)


def _read_described(reader: Reader, description: _TypeDescription, depth: int) -> DlmsData:
    if depth > MAX_DEPTH:
        raise reader.fail("compact array contents nested less deeply")
    start = reader.pos
    tag = description.tag
    if tag == 1:
        if description.count > reader.remaining:
            raise reader.fail(f"{description.count} compact array elements")
        element = description.children[0]
        items = [_read_described(reader, element, depth + 1) for _ in range(description.count)]
        return DlmsData(1, items, start, reader.pos - start)
    if tag == 2:
        items = [_read_described(reader, child, depth + 1) for child in description.children]
        return DlmsData(2, items, start, reader.pos - start)
    if tag == 0:
        return DlmsData(0, None, start, 0)
    if tag in _FIXED:
        size, signed = _FIXED[tag]
        number = reader.sint(size, "value") if signed else reader.uint(size, "value")
        return DlmsData(tag, bool(number) if tag == 3 else number, start, size)
    if tag in _RAW_FIXED:
        return DlmsData(tag, reader.take(_RAW_FIXED[tag], "value"), start, _RAW_FIXED[tag])
    if tag == 4:
        bits = reader.ber_length("bit-string")
        raw = reader.take((bits + 7) // 8, "bit-string")
        return DlmsData(tag, raw, start, reader.pos - start, bit_length=bits)
    raw = _read_octet_string(reader, "string")
    value: Any = raw if tag == 9 else raw.decode("latin-1", errors="replace")
    return DlmsData(tag, value, start, reader.pos - start)


def format_obis(instance: bytes) -> str:
    """OBIS code text, e.g. ``0-0:1.0.0.255``."""
    if len(instance) != 6:
        return instance.hex().upper()
    a, b, c, d, e, f = instance
    return f"{a}-{b}:{c}.{d}.{e}.{f}"
