"""The GBCS grouping header: the General-Signing APDU from its ``DF`` tag to Other-Information.

Layout (all lengths BER unless stated)::

    DF                      General-Signing tag
    09 <CRA> <counter 8>    transaction id: CRA flag + originator counter (big-endian)
    08 <EUI-64>             originator system title
    08 <EUI-64>             recipient system title
    00 | 0C <12 octets>     date-time, absent or a DLMS COSEM date-time
    <len> <other-info>      message code (2) [+ supplementary remote party id (8)
                            [+ supplementary remote party counter (8)
                            [+ supplementary originator counter (8) | + KA certificate]]]

The content length, payload and signature that follow are handled in :mod:`message`.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from enum import IntEnum

from .datetimes import DLMS_DATETIME_LENGTH, decode_dlms_datetime, encode_dlms_datetime
from .reader import Reader, encode_ber_length
from .records import frozen, record

GENERAL_SIGNING_TAG = 0xDF
TRANSACTION_ID_LENGTH = 9
SYSTEM_TITLE_LENGTH = 8
COUNTER_LIMIT = 1 << 64
OTHER_INFO_CODE_ONLY = 2
OTHER_INFO_WITH_PARTY = 10
OTHER_INFO_WITH_COUNTER = 18
OTHER_INFO_WITH_ORIGINATOR_COUNTER = 26


class Cra(IntEnum):
    """The CRA flag: what kind of message this is."""

    COMMAND = 1
    RESPONSE = 2
    ALERT = 3


@record
class OtherInfo:
    """Other-Information of the grouping header.

    ``supplementary_originator_counter`` is the fourth form (length 26); ``certificate`` (DER,
    a Key-Agreement certificate) is the form longer than 26. Both need the remote party id and
    counter before them.
    """

    message_code: int
    supplementary_remote_party_id: bytes | None = None
    supplementary_counter: int | None = None
    certificate: bytes | None = None
    supplementary_originator_counter: int | None = None


@record
class GroupingHeader:
    cra: Cra
    counter: int
    originator: bytes
    recipient: bytes
    date_time: datetime | None
    other_info: OtherInfo
    date_time_raw: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def message_code(self) -> int:
        return self.other_info.message_code

    @property
    def transaction_id(self) -> bytes:
        return bytes([self.cra]) + self.counter.to_bytes(8, "big")


def parse_grouping_header(data: bytes, offset: int) -> tuple[GroupingHeader, int]:
    """Parse from the ``DF`` tag at ``offset``; return the header and the offset after it."""
    reader = Reader(data, offset)
    reader.expect(GENERAL_SIGNING_TAG, "General-Signing tag")
    header = read_grouping_header_body(reader)
    return header, reader.pos


def read_grouping_header_body(reader: Reader) -> GroupingHeader:
    """Read the header fields that follow the ``DF`` tag."""
    known = read_usual_header(reader.data, reader.pos, reader.end)
    if known is not None:
        header, reader.pos = known
        return header
    return _read_header_fields(reader)


def _read_header_fields(reader: Reader) -> GroupingHeader:
    """:func:`read_grouping_header_body` field by field, every field checked as it is read."""
    reader.expect(TRANSACTION_ID_LENGTH, "transaction id length")
    cra_offset = reader.pos
    cra_value = reader.u8("CRA flag")
    if cra_value not in (1, 2, 3):
        raise reader.fail("CRA flag 1, 2 or 3", f"0x{cra_value:02X}", offset=cra_offset)
    counter = reader.uint(8, "originator counter")
    reader.expect(SYSTEM_TITLE_LENGTH, "originator system title length")
    originator = reader.take(SYSTEM_TITLE_LENGTH, "originator system title")
    reader.expect(SYSTEM_TITLE_LENGTH, "recipient system title length")
    recipient = reader.take(SYSTEM_TITLE_LENGTH, "recipient system title")
    date_time, date_time_raw = _read_date_time(reader)
    other_info = _read_other_info(reader)
    return GroupingHeader(
        cra=Cra(cra_value),
        counter=counter,
        originator=originator,
        recipient=recipient,
        date_time=date_time,
        other_info=other_info,
        date_time_raw=date_time_raw,
    )


_CRAS = {int(cra): cra for cra in Cra}
_OTHER_INFO_LENGTHS = (
    OTHER_INFO_CODE_ONLY,
    OTHER_INFO_WITH_PARTY,
    OTHER_INFO_WITH_COUNTER,
    OTHER_INFO_WITH_ORIGINATOR_COUNTER,
)


def read_usual_header(data: bytes, pos: int, end: int) -> tuple[GroupingHeader, int] | None:
    """The header fields at ``pos`` (after ``DF``) read in one go, with the offset after them,
    when they have their usual shape: valid, with short lengths and no certificate. Anything
    else gives None, and :func:`read_grouping_header_body` reads it field by field."""
    if (
        type(data) is not bytes
        or end - pos < 32
        or data[pos] != TRANSACTION_ID_LENGTH
        or data[pos + 10] != SYSTEM_TITLE_LENGTH
        or data[pos + 19] != SYSTEM_TITLE_LENGTH
    ):
        return None
    cra = _CRAS.get(data[pos + 1])
    if cra is None:
        return None
    cursor = pos + 28
    date_time = date_time_raw = None
    if data[cursor] == DLMS_DATETIME_LENGTH:
        if end - cursor < 15:
            return None
        date_time_raw = data[cursor + 1 : cursor + 13]
        date_time = decode_dlms_datetime(date_time_raw)
        if date_time is None:
            return None
        cursor += 13
    elif data[cursor]:
        return None
    else:
        cursor += 1
    length = data[cursor]
    body = cursor + 1
    if length not in _OTHER_INFO_LENGTHS or end - body < length:
        return None
    party = counter = originator_counter = None
    if length > OTHER_INFO_CODE_ONLY:
        party = data[body + 2 : body + 10]
        if length >= OTHER_INFO_WITH_COUNTER:
            counter = int.from_bytes(data[body + 10 : body + 18], "big")
        if length == OTHER_INFO_WITH_ORIGINATOR_COUNTER:
            originator_counter = int.from_bytes(data[body + 18 : body + 26], "big")
    info = frozen(
        OtherInfo,
        {
            "message_code": data[body] << 8 | data[body + 1],
            "supplementary_remote_party_id": party,
            "supplementary_counter": counter,
            "certificate": None,
            "supplementary_originator_counter": originator_counter,
        },
    )
    header = frozen(
        GroupingHeader,
        {
            "cra": cra,
            "counter": int.from_bytes(data[pos + 2 : pos + 10], "big"),
            "originator": data[pos + 11 : pos + 19],
            "recipient": data[pos + 20 : pos + 28],
            "date_time": date_time,
            "other_info": info,
            "date_time_raw": date_time_raw,
        },
    )
    return header, body + length


def _read_date_time(reader: Reader) -> tuple[datetime | None, bytes | None]:
    start = reader.pos
    length = reader.u8("date-time length")
    if length == 0:
        return None, None
    if length != DLMS_DATETIME_LENGTH:
        raise reader.fail("date-time length 0x00 or 0x0C", f"0x{length:02X}", offset=start)
    raw = reader.take(DLMS_DATETIME_LENGTH, "date-time")
    value = decode_dlms_datetime(raw)
    if value is None:
        raise reader.fail("a valid date-time", raw.hex().upper(), offset=start + 1)
    return value, raw


def _read_other_info(reader: Reader) -> OtherInfo:
    start = reader.pos
    length = reader.ber_length("other-information")
    if length < OTHER_INFO_CODE_ONLY or (
        length != OTHER_INFO_CODE_ONLY
        and length < OTHER_INFO_WITH_ORIGINATOR_COUNTER
        and length not in (OTHER_INFO_WITH_PARTY, OTHER_INFO_WITH_COUNTER)
    ):
        raise reader.fail("other-information length 2, 10, 18, 26 or more", str(length), start)
    body = reader.sub(length, "other-information")
    code = body.uint(2, "message code")
    party = counter = originator_counter = None
    certificate = None
    if length >= OTHER_INFO_WITH_PARTY:
        party = body.take(SYSTEM_TITLE_LENGTH, "supplementary remote party id")
    if length >= OTHER_INFO_WITH_COUNTER:
        counter = body.uint(8, "supplementary remote party counter")
    if length == OTHER_INFO_WITH_ORIGINATOR_COUNTER:
        originator_counter = body.uint(8, "supplementary originator counter")
    elif length > OTHER_INFO_WITH_ORIGINATOR_COUNTER:
        certificate = body.rest()
    return OtherInfo(
        message_code=code,
        supplementary_remote_party_id=party,
        supplementary_counter=counter,
        certificate=certificate,
        supplementary_originator_counter=originator_counter,
    )


def build_grouping_header(h: GroupingHeader) -> bytes:
    """Encode ``h`` from the ``DF`` tag to the end of Other-Information."""
    if not 0 <= h.counter < COUNTER_LIMIT:
        raise ValueError("counter must fit in 8 octets")
    for name, title in (("originator", h.originator), ("recipient", h.recipient)):
        if len(title) != SYSTEM_TITLE_LENGTH:
            raise ValueError(f"{name} must be an 8-octet EUI-64")
    out = bytearray([GENERAL_SIGNING_TAG, TRANSACTION_ID_LENGTH, Cra(h.cra)])
    out += h.counter.to_bytes(8, "big")
    out += bytes([SYSTEM_TITLE_LENGTH]) + h.originator
    out += bytes([SYSTEM_TITLE_LENGTH]) + h.recipient
    out += _encode_date_time(h)
    other = encode_other_info(h.other_info)
    out += encode_ber_length(len(other)) + other
    return bytes(out)


def _encode_date_time(h: GroupingHeader) -> bytes:
    if h.date_time is None:
        return b"\x00"
    raw = h.date_time_raw
    if raw is None or decode_dlms_datetime(raw) != h.date_time:
        raw = encode_dlms_datetime(h.date_time)
    return bytes([DLMS_DATETIME_LENGTH]) + raw


def encode_other_info(info: OtherInfo) -> bytes:
    if not 0 <= info.message_code <= 0xFFFF:
        raise ValueError("message code must fit in 2 octets")
    out = bytearray(info.message_code.to_bytes(2, "big"))
    party = info.supplementary_remote_party_id
    needs_party = (
        info.supplementary_counter is not None
        or info.certificate is not None
        or info.supplementary_originator_counter is not None
    )
    if party is None:
        if needs_party:
            raise ValueError("supplementary fields need a supplementary remote party id")
        return bytes(out)
    if len(party) != SYSTEM_TITLE_LENGTH:
        raise ValueError("supplementary remote party id must be 8 octets")
    out += party
    if info.supplementary_counter is None:
        if info.certificate is not None or info.supplementary_originator_counter is not None:
            raise ValueError("certificate and originator counter need a supplementary counter")
        return bytes(out)
    out += _counter_bytes(info.supplementary_counter)
    if info.certificate is not None and info.supplementary_originator_counter is not None:
        raise ValueError("other-information holds a certificate or an originator counter, not both")
    if info.supplementary_originator_counter is not None:
        out += _counter_bytes(info.supplementary_originator_counter)
    elif info.certificate is not None:
        if len(info.certificate) <= OTHER_INFO_WITH_ORIGINATOR_COUNTER - OTHER_INFO_WITH_COUNTER:
            raise ValueError("certificate too short to be told from an originator counter")
        out += info.certificate
    return bytes(out)


def _counter_bytes(value: int) -> bytes:
    if not 0 <= value < COUNTER_LIMIT:
        raise ValueError("counter must fit in 8 octets")
    return value.to_bytes(8, "big")
