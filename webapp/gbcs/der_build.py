"""Building the DER values GBCS ASN.1 payloads are made of (the inverse of :mod:`asn1`)."""

from __future__ import annotations

from datetime import UTC, datetime

from .asn1_structures import GENERALIZED_TIME, INTEGER, OCTET_STRING, SEQUENCE
from .reader import encode_ber_length

#: GeneralizedTime as GBCS writes it: UTC to the second.
TIME_FORMAT = "%Y%m%d%H%M%SZ"


def tlv(identifier: int, content: bytes) -> bytes:
    """One DER value: identifier octet, definite length, content."""
    return bytes([identifier]) + encode_ber_length(len(content)) + content


def integer(value: int) -> bytes:
    """A DER INTEGER in the fewest two's-complement octets."""
    size = max(1, (value.bit_length() + 8) // 8)
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def octet_string(value: bytes) -> bytes:
    return tlv(OCTET_STRING, value)


def generalized_time(value: datetime) -> bytes:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return tlv(GENERALIZED_TIME, value.astimezone(UTC).strftime(TIME_FORMAT).encode())


def sequence(*parts: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(parts))
