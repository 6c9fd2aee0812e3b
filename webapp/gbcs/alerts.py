"""Find the alert code an alert message carries, whatever its payload encoding."""

from __future__ import annotations

from .asn1 import parse_der
from .dlms import DATA_NOTIFICATION, parse_dlms
from .errors import GbcsError
from .header import Cra
from .message import Message
from .payload import payload_encoding

DLMS_LONG_UNSIGNED = 18
ALERT_CODE_MAX = 0xFFFF


def alert_code_of(message: Message) -> int | None:
    """The alert code of an alert message, or None when it is not an alert or has none."""
    if message.header.cra is not Cra.ALERT:
        return None
    payload = message.payload
    end = message.payload_offset + len(payload)
    try:
        encoding = payload_encoding(message)
        if encoding == "gbz":
            return int.from_bytes(payload[3:5], "big") if len(payload) >= 5 else None
        if encoding == "dlms":
            apdu = parse_dlms(message.raw, message.payload_offset, end)
            body = apdu.body
            if apdu.tag != DATA_NOTIFICATION or body is None or body.tag != 2 or not body.value:
                return None
            first = body.value[0]
            return first.value if first.tag == DLMS_LONG_UNSIGNED else None
        if encoding == "asn1":
            node = parse_der(message.raw, message.payload_offset, end)
            if node.children and node.children[0].is_universal(2):
                value = node.children[0].integer()
                if value is not None and 0 <= value <= ALERT_CODE_MAX:
                    return value
    except GbcsError:
        return None
    return None
