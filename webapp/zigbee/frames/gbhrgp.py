"""GB-HRGP: the first octet of each tunnelled TransferData payload.

0x01 GET (the HHT asks for messages held for it), 0x02 GET-RESPONSE followed by the
number of messages still held and one message, 0x03 PUT followed by one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from webapp.zigbee.types import FrameError


class HrgpType(IntEnum):
    GET = 0x01
    GET_RESPONSE = 0x02
    PUT = 0x03


@dataclass(frozen=True)
class HrgpGet:
    def to_bytes(self) -> bytes:
        return bytes([HrgpType.GET])


@dataclass(frozen=True)
class HrgpGetResponse:
    messages_remaining: int
    message: bytes

    def to_bytes(self) -> bytes:
        if not 0 <= self.messages_remaining <= 0xFF:
            raise ValueError("messages remaining must fit one octet")
        return bytes([HrgpType.GET_RESPONSE, self.messages_remaining]) + self.message


@dataclass(frozen=True)
class HrgpPut:
    message: bytes

    def to_bytes(self) -> bytes:
        return bytes([HrgpType.PUT]) + self.message


HrgpMessage = HrgpGet | HrgpGetResponse | HrgpPut


def decode_hrgp(data: bytes) -> HrgpMessage:
    if not data:
        raise FrameError("empty GB-HRGP payload")
    kind = data[0]
    if kind == HrgpType.GET:
        if len(data) != 1:
            raise FrameError("GB-HRGP GET carries no data")
        return HrgpGet()
    if kind == HrgpType.GET_RESPONSE:
        if len(data) < 2:
            raise FrameError("GB-HRGP GET-RESPONSE without messages-remaining octet")
        return HrgpGetResponse(data[1], bytes(data[2:]))
    if kind == HrgpType.PUT:
        return HrgpPut(bytes(data[1:]))
    raise FrameError(f"unknown GB-HRGP type {kind:#04x}")
