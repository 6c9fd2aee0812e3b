"""Which encoding a message's payload uses: GBZ, DLMS COSEM or ASN.1 (by message code)."""

from __future__ import annotations

from .dlms import DLMS_TAGS
from .message import Message

#: Message codes whose payloads are ASN.1 DER (CS02x, CS03x, CS04x, CS06, CS07, CS08, GCS28,
#: GCS59, GCS62, CCS08 and their alerts).
ASN1_MESSAGE_CODES = frozenset(
    {
        0x0008,  # CS02a
        0x000A,  # CS02c
        0x000B,  # CS02d
        0x000C,  # CS02e
        0x000D,  # CS03A1
        0x000E,  # CS03B
        0x000F,  # CS04AC
        0x0010,  # CS04B
        0x0012,  # CS06
        0x0013,  # CS07
        0x007F,  # GCS28
        0x008C,  # GCS59
        0x00AB,  # CS03A2
        0x00AF,  # CS03C
        0x00B2,  # GCS62
        0x00CA,  # CS06 future-dated activation alert
        0x00CB,  # CS02b future-dated update alert
        0x011B,  # CS02f
        0x0128,  # CCS08 alert
        0x0129,  # CS08
        *range(0x0100, 0x010A),  # CS02b variants
        *range(0x0124, 0x0127),  # CS02g variants
    }
)
GBZ_PREFIX = b"\x01\x09"


def payload_encoding(message: Message) -> str:
    """ "asn1", "gbz", "dlms" or "unknown"."""
    payload = message.payload
    if message.message_code in ASN1_MESSAGE_CODES:
        return "asn1"
    if payload.startswith(GBZ_PREFIX):
        return "gbz"
    if payload and payload[0] in DLMS_TAGS:
        return "dlms"
    if payload[:1] == b"\x30":
        return "asn1"
    return "unknown"
