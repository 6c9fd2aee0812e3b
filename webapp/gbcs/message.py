"""Whole GBCS messages: the General-Ciphering MAC wrapper and the General-Signing APDU.

Forms accepted by :func:`parse_message`:

* ``DD 00 ...`` General-Ciphering: ``DD``, six empty fields (``00`` each: transaction id,
  originator and recipient system titles, date-time, other-information, key-info), the BER
  length of the ciphered content, a security header (security control ``11`` plus a 4-octet
  invocation counter), the General-Signing APDU, and a 12-octet MAC.
* ``DD`` + anything else: a GBCS block transfer (GBT) stream, reassembled first.
* ``DF ...`` General-Signing without the MAC wrapper: responses, alerts, signed commands
  not sent through the Access Control Broker, and pre-commands (unsigned commands, which
  may also lack the signature-length octet altogether).

The signature covers the General-Signing APDU from the octet after ``DF`` to the end of the
payload. The signature field is ``00`` (none) or ``40`` followed by 64 octets r||s.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from .errors import GbcsError
from .gbt import is_gbt, reassemble_gbt
from .header import (
    GENERAL_SIGNING_TAG,
    Cra,
    GroupingHeader,
    OtherInfo,
    build_grouping_header,
    read_grouping_header_body,
    read_usual_header,
)
from .mac import MAC_LENGTH, compute_mac, mac_authenticated_data
from .reader import Reader, encode_ber_length
from .records import frozen, record
from .signing import SIGNATURE_LENGTH, sign

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

GENERAL_CIPHERING_TAG = 0xDD
EMPTY_CIPHERING_FIELDS = (
    "empty transaction id",
    "empty originator system title",
    "empty recipient system title",
    "empty date-time",
    "empty other-information",
    "absent key-info",
)
SECURITY_CONTROL_AUTHENTICATED = 0x11
SECURITY_HEADER_LENGTH = 5

__all__ = [
    "GENERAL_CIPHERING_TAG",
    "SECURITY_HEADER_LENGTH",
    "Message",
    "build_general_signing",
    "build_precommand",
    "compute_mac",
    "parse_message",
    "parse_messages",
    "response_header_for",
    "verify_mac",
    "wrap_general_ciphering",
]


@record
class Message:
    """A parsed message. Offsets index ``raw`` (for GBT input, the reassembled message).

    ``kind`` is "command", "response" or "alert" from the CRA flag, except that an unwrapped
    command without a signature is a "precommand" (a command the DCC returns for signing).
    """

    raw: bytes
    kind: str
    header: GroupingHeader
    payload: bytes
    payload_offset: int
    signature: bytes | None
    signed_bytes: bytes
    mac: bytes | None
    general_signing_offset: int = 0
    security_control: int | None = None
    invocation_counter: int | None = None
    signature_offset: int | None = None
    mac_offset: int | None = None
    reassembled_from_gbt: bool = False

    @property
    def originator_hex(self) -> str:
        return self.header.originator.hex().upper()

    @property
    def recipient_hex(self) -> str:
        return self.header.recipient.hex().upper()

    @property
    def message_code(self) -> int:
        return self.header.message_code

    @property
    def counter(self) -> int:
        return self.header.counter

    @property
    def cra(self) -> Cra:
        return self.header.cra


def parse_message(data: bytes) -> Message:
    """Parse one complete GBCS message. Raises :class:`GbcsError` only."""
    data = bytes(data)
    if not data:
        raise GbcsError(0, "a GBCS message (0xDD or 0xDF)", "no bytes")
    if is_gbt(data):
        message = parse_message(reassemble_gbt(data))
        return replace(message, reassembled_from_gbt=True)
    message, end = _parse_at(data, 0)
    if end != len(data):
        raise GbcsError(end, "end of message", f"{len(data) - end} more byte(s)")
    return message


def parse_messages(data: bytes) -> list[Message]:
    """Parse consecutive messages (some reference files hold several back to back)."""
    data = bytes(data)
    if not data:
        raise GbcsError(0, "a GBCS message (0xDD or 0xDF)", "no bytes")
    if is_gbt(data):
        return [parse_message(data)]
    messages = []
    offset = 0
    while offset < len(data):
        message, end = _parse_at(data, offset)
        messages.append(message)
        offset = end
    return messages


def _parse_at(data: bytes, offset: int) -> tuple[Message, int]:
    """Parse the message starting at ``offset``; offsets in the result are relative to it."""
    usual = _parse_usual(data, offset)
    if usual is not None:
        return usual
    return _parse_checked(data, offset)


def _parse_checked(data: bytes, offset: int) -> tuple[Message, int]:
    """:func:`_parse_at` field by field, every field checked as it is read."""
    first = data[offset]
    if first == GENERAL_CIPHERING_TAG:
        return _parse_general_ciphering(data, offset)
    if first == GENERAL_SIGNING_TAG:
        reader = Reader(data, offset)
        fields = _read_general_signing(reader)
        raw = data[offset : reader.pos]
        return _message(raw, offset, fields, mac=None), reader.pos
    raise GbcsError(offset, "0xDD (General-Ciphering) or 0xDF (General-Signing)", f"0x{first:02X}")


_EMPTY_CIPHERING_PREFIX = bytes([GENERAL_CIPHERING_TAG]) + bytes(len(EMPTY_CIPHERING_FIELDS))
_MESSAGE_TAGS = (GENERAL_CIPHERING_TAG, GENERAL_SIGNING_TAG)
_KINDS = {cra: cra.name.lower() for cra in Cra}


def _short_length(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A BER length of at most two octets at ``pos`` and the offset after it; (-1, pos) for
    anything else (the checked parse then reads it)."""
    if pos < end:
        first = data[pos]
        if first < 0x80:
            return first, pos + 1
        if first == 0x81 and pos + 2 <= end:
            return data[pos + 1], pos + 2
        if first == 0x82 and pos + 3 <= end:
            return data[pos + 1] << 8 | data[pos + 2], pos + 3
    return -1, pos


def _parse_usual(data: bytes, offset: int) -> tuple[Message, int] | None:
    """The message at ``offset`` read in one go when it has the usual shape and is valid, with
    the offset after it; None otherwise, and the field-by-field parse reads (or rejects) it.
    Accepts exactly what that parse accepts, with the same result."""
    if type(data) is not bytes:
        return None
    end = len(data)
    first = data[offset]
    security_control = invocation_counter = mac_offset = None
    if first == GENERAL_CIPHERING_TAG:
        if data[offset : offset + 7] != _EMPTY_CIPHERING_PREFIX:
            return None
        length, content = _short_length(data, offset + 7, end)
        if length < SECURITY_HEADER_LENGTH + 1 + MAC_LENGTH or end - content < length:
            return None
        end = content + length
        security_control = data[content]
        invocation_counter = int.from_bytes(data[content + 1 : content + 5], "big")
        start = content + SECURITY_HEADER_LENGTH
        mac_offset = stop = end - MAC_LENGTH
    elif first == GENERAL_SIGNING_TAG:
        start = offset
        stop = end
    else:
        return None
    if data[start] != GENERAL_SIGNING_TAG:
        return None
    known = read_usual_header(data, start + 1, stop)
    if known is None:
        return None
    header, pos = known
    length, payload_offset = _short_length(data, pos, stop)
    signed_end = payload_offset + length
    if length < 0 or signed_end > stop:
        return None
    signature = signature_offset = None
    pos = signed_end
    if pos < stop and data[pos] not in _MESSAGE_TAGS:
        signature_offset = pos
        if data[pos] == SIGNATURE_LENGTH and stop - pos > SIGNATURE_LENGTH:
            signature = data[pos + 1 : pos + 1 + SIGNATURE_LENGTH]
            pos += 1 + SIGNATURE_LENGTH
        elif data[pos] == 0:
            pos += 1
        else:
            return None
    if mac_offset is None:
        end = pos
    elif pos != stop:
        return None
    raw = data[offset:end] if offset or end != len(data) else data
    cra = header.cra
    if mac_offset is None and cra is Cra.COMMAND and signature is None:
        kind = "precommand"
    else:
        kind = _KINDS[cra]
    message = frozen(
        Message,
        {
            "raw": raw,
            "kind": kind,
            "header": header,
            "payload": data[payload_offset:signed_end],
            "payload_offset": payload_offset - offset,
            "signature": signature,
            "signed_bytes": data[start + 1 : signed_end],
            "mac": None if mac_offset is None else data[mac_offset:end],
            "general_signing_offset": start - offset,
            "security_control": security_control,
            "invocation_counter": invocation_counter,
            "signature_offset": None if signature_offset is None else signature_offset - offset,
            "mac_offset": None if mac_offset is None else mac_offset - offset,
            "reassembled_from_gbt": False,
        },
    )
    return message, end


@record
class _SigningFields:
    start: int
    header: GroupingHeader
    payload: bytes
    payload_offset: int
    signed_end: int
    signature: bytes | None
    signature_offset: int | None


@record
class _MacFields:
    security_control: int
    invocation_counter: int
    mac: bytes
    mac_offset: int


def _parse_general_ciphering(data: bytes, offset: int) -> tuple[Message, int]:
    reader = Reader(data, offset)
    reader.expect(GENERAL_CIPHERING_TAG, "General-Ciphering tag")
    for what in EMPTY_CIPHERING_FIELDS:
        reader.expect(0x00, what)
    length = reader.ber_length("ciphered content")
    content = reader.sub(length, "ciphered content")
    security_control = content.u8("security control")
    invocation_counter = content.uint(4, "invocation counter")
    if content.remaining < MAC_LENGTH + 1:
        raise content.fail("General-Signing content and a 12-byte MAC")
    mac_offset = content.end - MAC_LENGTH
    inner = Reader(data, content.pos, mac_offset)
    fields = _read_general_signing(inner)
    if not inner.at_end:
        raise inner.fail("the MAC after the signature", f"{inner.remaining} extra byte(s)")
    mac = _MacFields(
        security_control=security_control,
        invocation_counter=invocation_counter,
        mac=data[mac_offset : content.end],
        mac_offset=mac_offset,
    )
    return _message(data[offset : reader.pos], offset, fields, mac), reader.pos


def _read_general_signing(reader: Reader) -> _SigningFields:
    start = reader.pos
    reader.expect(GENERAL_SIGNING_TAG, "General-Signing tag")
    header = read_grouping_header_body(reader)
    length = reader.ber_length("content")
    payload_offset = reader.pos
    payload = reader.take(length, "payload")
    signed_end = reader.pos
    signature = None
    signature_offset = None
    if not reader.at_end and reader.peek() not in (GENERAL_CIPHERING_TAG, GENERAL_SIGNING_TAG):
        signature_offset = reader.pos
        signature_length = reader.ber_length("signature")
        if signature_length not in (0, SIGNATURE_LENGTH):
            raise reader.fail(
                "signature length 0x00 or 0x40", str(signature_length), signature_offset
            )
        if signature_length:
            signature = reader.take(signature_length, "signature")
    return _SigningFields(
        start=start,
        header=header,
        payload=payload,
        payload_offset=payload_offset,
        signed_end=signed_end,
        signature=signature,
        signature_offset=signature_offset,
    )


def _message(raw: bytes, base: int, fields: _SigningFields, mac: _MacFields | None) -> Message:
    header = fields.header
    if mac is None and header.cra is Cra.COMMAND and fields.signature is None:
        kind = "precommand"
    else:
        kind = header.cra.name.lower()
    start = fields.start - base
    return Message(
        raw=bytes(raw),
        kind=kind,
        header=header,
        payload=fields.payload,
        payload_offset=fields.payload_offset - base,
        signature=fields.signature,
        signed_bytes=bytes(raw[start + 1 : fields.signed_end - base]),
        mac=None if mac is None else mac.mac,
        general_signing_offset=start,
        security_control=None if mac is None else mac.security_control,
        invocation_counter=None if mac is None else mac.invocation_counter,
        signature_offset=None
        if fields.signature_offset is None
        else fields.signature_offset - base,
        mac_offset=None if mac is None else mac.mac_offset - base,
    )


def build_general_signing(
    header: GroupingHeader, payload: bytes, signing_key: ec.EllipticCurvePrivateKey | None
) -> bytes:
    """The General-Signing APDU; signed with ``signing_key``, else with an empty signature."""
    body = build_grouping_header(header) + encode_ber_length(len(payload)) + bytes(payload)
    if signing_key is None:
        return body + b"\x00"
    return body + bytes([SIGNATURE_LENGTH]) + sign(signing_key, body[1:])


def build_precommand(header: GroupingHeader, payload: bytes) -> bytes:
    """A pre-command as the DCC returns it for signing: no signature field at all."""
    return build_grouping_header(header) + encode_ber_length(len(payload)) + bytes(payload)


def wrap_general_ciphering(
    general_signing: bytes, mac_key: bytes, originator: bytes, invocation_counter: int = 0
) -> bytes:
    """Put a General-Signing APDU in the MAC wrapper. See :mod:`webapp.gbcs.mac` for keys."""
    security_header = bytes([SECURITY_CONTROL_AUTHENTICATED]) + invocation_counter.to_bytes(
        4, "big"
    )
    authenticated = mac_authenticated_data(security_header, general_signing)
    mac = compute_mac(mac_key, originator, invocation_counter, authenticated)
    content = security_header + bytes(general_signing) + mac
    return (
        bytes([GENERAL_CIPHERING_TAG])
        + bytes(len(EMPTY_CIPHERING_FIELDS))
        + encode_ber_length(len(content))
        + content
    )


def verify_mac(mac_key: bytes, message_raw: bytes) -> bool:
    """Recompute the MAC of a wrapped message with ``mac_key``; False if absent or wrong."""
    try:
        message = parse_message(message_raw)
    except GbcsError:
        return False
    if message.mac is None or message.mac_offset is None or message.invocation_counter is None:
        return False
    security_header_offset = message.general_signing_offset - SECURITY_HEADER_LENGTH
    authenticated = mac_authenticated_data(
        message.raw[security_header_offset : message.general_signing_offset],
        message.raw[message.general_signing_offset : message.mac_offset],
    )
    try:
        expected = compute_mac(
            mac_key, message.header.originator, message.invocation_counter, authenticated
        )
    except ValueError:
        return False
    return expected == message.mac


def response_header_for(command: GroupingHeader, date_time: datetime | None) -> GroupingHeader:
    """The grouping header of a response to ``command``: same counter and message code,
    originator and recipient swapped, CRA flag Response."""
    return GroupingHeader(
        cra=Cra.RESPONSE,
        counter=command.counter,
        originator=command.recipient,
        recipient=command.originator,
        date_time=date_time,
        other_info=OtherInfo(message_code=command.message_code),
    )
