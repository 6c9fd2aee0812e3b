"""ZCL frame header (ZCL spec 2.4.1)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from webapp.zigbee.types import FrameError, Reader, u8, u16


class ZclFrameType(IntEnum):
    GLOBAL = 0
    CLUSTER = 1


class Direction(IntEnum):
    CLIENT_TO_SERVER = 0
    SERVER_TO_CLIENT = 1


@dataclass(frozen=True)
class ZclHeader:
    command_id: int
    tsn: int
    frame_type: ZclFrameType = ZclFrameType.CLUSTER
    direction: Direction = Direction.CLIENT_TO_SERVER
    disable_default_response: bool = False
    manufacturer_code: int | None = None

    def to_bytes(self) -> bytes:
        fc = int(self.frame_type) & 0x03
        if self.manufacturer_code is not None:
            fc |= 0x04
        fc |= int(self.direction) << 3
        if self.disable_default_response:
            fc |= 0x10
        out = u8(fc)
        if self.manufacturer_code is not None:
            out += u16(self.manufacturer_code)
        return out + u8(self.tsn) + u8(self.command_id)

    @classmethod
    def read(cls, r: Reader) -> ZclHeader:
        fc = r.u8()
        if fc & 0x03 > 1:
            raise FrameError(f"reserved ZCL frame type {fc & 3}")
        mfr = r.u16() if fc & 0x04 else None
        tsn = r.u8()
        cmd = r.u8()
        return cls(
            command_id=cmd,
            tsn=tsn,
            frame_type=ZclFrameType(fc & 0x03),
            direction=Direction((fc >> 3) & 1),
            disable_default_response=bool(fc & 0x10),
            manufacturer_code=mfr,
        )


@dataclass(frozen=True)
class ZclFrame:
    header: ZclHeader
    payload: bytes = b""

    def to_bytes(self) -> bytes:
        return self.header.to_bytes() + self.payload

    @classmethod
    def from_bytes(cls, data: bytes) -> ZclFrame:
        r = Reader(data, "ZCL frame")
        header = ZclHeader.read(r)
        return cls(header, r.rest())
