"""Building DLMS COSEM payloads: A-XDR Data values, Access-Request and Access-Response.

The inverse of :mod:`dlms`: each function returns the A-XDR octets of one value (tag and
content), and :func:`access_request` / :func:`access_response` put them in the APDUs GBCS
carries, so that :func:`dlms.parse_dlms` reads back exactly what was built.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .datetimes import NOT_SPECIFIED, encode_dlms_datetime
from .dlms import ACCESS_REQUEST, ACCESS_RESPONSE, REQUEST_CHOICES, RESPONSE_CHOICES
from .reader import encode_ber_length

log = logging.getLogger(__name__)

# A-XDR Data tags
NULL_DATA = 0
ARRAY = 1
STRUCTURE = 2
BOOLEAN = 3
DOUBLE_LONG = 5
DOUBLE_LONG_UNSIGNED = 6
OCTET_STRING = 9
VISIBLE_STRING = 10
INTEGER = 15
LONG = 16
UNSIGNED = 17
LONG_UNSIGNED = 18
ENUM = 22

# access-request-specification choices
GET = 1
SET = 2
ACTION = 3
GET_WITH_SELECTION = 4
COMPACT_ARRAY = 19
RESULT_SUCCESS = 0
OBIS_LENGTH = 6
#: The invoke-id-and-priority GBCS uses: bit 29 (high priority, confirmed) and a counter.
INVOKE_ID_FLAGS = 0x20000000
INVOKE_ID_MASK = 0x00FFFFFF
#: A DLMS time (hour, minute, second, hundredths) and date (year, month, day, weekday).
TIME_LENGTH = 4
NO_DATE_TIME = b"\x00"


def _number(tag: int, value: int, size: int, *, signed: bool) -> bytes:
    return bytes([tag]) + value.to_bytes(size, "big", signed=signed)


def null_data() -> bytes:
    return bytes([NULL_DATA])


def boolean(value: bool) -> bytes:
    return bytes([BOOLEAN, 1 if value else 0])


def enum(value: int) -> bytes:
    return _number(ENUM, value, 1, signed=False)


def integer(value: int) -> bytes:
    """An ``integer``: one signed octet."""
    return _number(INTEGER, value, 1, signed=True)


def unsigned(value: int) -> bytes:
    return _number(UNSIGNED, value, 1, signed=False)


def long(value: int) -> bytes:
    """A ``long``: two signed octets."""
    return _number(LONG, value, 2, signed=True)


def long_unsigned(value: int) -> bytes:
    return _number(LONG_UNSIGNED, value, 2, signed=False)


def double_long(value: int) -> bytes:
    return _number(DOUBLE_LONG, value, 4, signed=True)


def double_long_unsigned(value: int) -> bytes:
    return _number(DOUBLE_LONG_UNSIGNED, value, 4, signed=False)


def octet_string(value: bytes) -> bytes:
    return bytes([OCTET_STRING]) + encode_ber_length(len(value)) + value


def visible_string(text: str) -> bytes:
    raw = text.encode("latin-1")
    return bytes([VISIBLE_STRING]) + encode_ber_length(len(raw)) + raw


def array(items: Sequence[bytes]) -> bytes:
    return bytes([ARRAY]) + encode_ber_length(len(items)) + b"".join(items)


def structure(*items: bytes) -> bytes:
    return bytes([STRUCTURE]) + encode_ber_length(len(items)) + b"".join(items)


def date_time(value: datetime | None) -> bytes:
    """A date-time as GBCS carries it: an octet-string of 12; None gives all wildcards
    ("never"), as in a clock preset with no validity start."""
    if value is None:
        return octet_string(b"\xff" * 9 + b"\x80\x00\xff")
    return octet_string(encode_dlms_datetime(value))


def date_time_now() -> bytes:
    """The date-time that means "now" (all fields zero, deviation unspecified): an
    activation time that takes effect at once."""
    return octet_string(bytes(9) + b"\x80\x00\xff")


def time_of_day(hour: int, minute: int = 0, second: int = 0) -> bytes:
    """A DLMS ``time`` in an octet-string of 4 (hundredths not specified)."""
    return octet_string(bytes([hour, minute, second, NOT_SPECIFIED]))


def date(year: int | None, month: int, day: int) -> bytes:
    """A DLMS ``date`` in an octet-string of 5; year None repeats every year."""
    year_octets = (0xFFFF if year is None else year).to_bytes(2, "big")
    return octet_string(year_octets + bytes([month, day, NOT_SPECIFIED]))


def obis(text: str) -> bytes:
    """``"0-0:13.0.0.255"`` as its six octets."""
    medium, rest = text.split("-", 1)
    channel, rest = rest.split(":", 1)
    parts = [int(medium), int(channel), *(int(p) for p in rest.split("."))]
    if len(parts) != OBIS_LENGTH:
        raise ValueError(f"an OBIS code has six groups, not {text!r}")
    return bytes(parts)


@dataclass(frozen=True)
class Target:
    """One access-request-specification: get/set/action on a COSEM attribute or method."""

    choice: int
    class_id: int
    instance: str  # OBIS text
    member_id: int
    selector: int = 0  # get-with-selection: the access selector
    selection: bytes = b""  # and its parameters (a Data value)

    def encode(self) -> bytes:
        if self.choice not in (GET, SET, ACTION, GET_WITH_SELECTION):
            raise ValueError(f"choice {self.choice} is not get, set, action or get-with-selection")
        out = (
            bytes([self.choice])
            + self.class_id.to_bytes(2, "big")
            + obis(self.instance)
            + self.member_id.to_bytes(1, "big", signed=True)
        )
        if self.choice == GET_WITH_SELECTION:
            out += bytes([self.selector]) + self.selection
        return out

    @property
    def name(self) -> str:
        return REQUEST_CHOICES[self.choice]


def get_attribute(class_id: int, instance: str, attribute: int) -> Target:
    return Target(GET, class_id, instance, attribute)


def set_attribute(class_id: int, instance: str, attribute: int) -> Target:
    return Target(SET, class_id, instance, attribute)


def call_method(class_id: int, instance: str, method: int) -> Target:
    return Target(ACTION, class_id, instance, method)


def get_with_selection(
    class_id: int, instance: str, attribute: int, selector: int, selection: bytes
) -> Target:
    """A get of part of an attribute: ``selection`` is the Data the ``selector`` takes
    (for a Profile Generic buffer, selector 1 is a range of entries by a column's value)."""
    return Target(GET_WITH_SELECTION, class_id, instance, attribute, selector, selection)


def structure_type(*tags: int) -> bytes:
    """The type description of a structure whose elements have the simple types ``tags``."""
    return bytes([STRUCTURE]) + encode_ber_length(len(tags)) + bytes(tags)


def untagged(value: bytes) -> bytes:
    """One simple Data value (built above) without its tag: as a compact array holds it."""
    return value[1:]


def compact_array(type_description: bytes, elements: Sequence[bytes]) -> bytes:
    """A compact-array: the elements' type, described once, then their contents untagged
    (each element the :func:`untagged` values of its fields, in order)."""
    contents = b"".join(elements)
    return bytes([COMPACT_ARRAY]) + type_description + encode_ber_length(len(contents)) + contents


def invoke_id(counter: int) -> int:
    """The long-invoke-id-and-priority of a request with ``counter`` (low 24 bits)."""
    return INVOKE_ID_FLAGS | counter & INVOKE_ID_MASK


def access_request(
    invoke: int, items: Sequence[tuple[Target, bytes]], when: datetime | None = None
) -> bytes:
    """An Access-Request: each target with its Data (null-data for a get)."""
    out = bytearray([ACCESS_REQUEST])
    out += invoke.to_bytes(4, "big")
    out += _date_time_field(when)
    out += encode_ber_length(len(items))
    for target, _ in items:
        out += target.encode()
    out += encode_ber_length(len(items))
    for _, data in items:
        out += data
    return bytes(out)


def access_response(
    invoke: int,
    items: Sequence[tuple[int, bytes, int]],
    when: datetime | None = None,
) -> bytes:
    """An Access-Response without the request specifications: ``items`` are each
    (choice, Data returned, result); a set or action returns null-data."""
    out = bytearray([ACCESS_RESPONSE])
    out += invoke.to_bytes(4, "big")
    out += _date_time_field(when)
    out.append(0)  # no access-request-specification list
    out += encode_ber_length(len(items))
    for _, data, _ in items:
        out += data
    out += encode_ber_length(len(items))
    for choice, _, result in items:
        if choice not in RESPONSE_CHOICES:
            raise ValueError(f"response choice {choice} is not get, set or action")
        out += bytes([choice, result])
    return bytes(out)


def _date_time_field(when: datetime | None) -> bytes:
    if when is None:
        return NO_DATE_TIME
    raw = encode_dlms_datetime(when)
    return encode_ber_length(len(raw)) + raw
