"""Zigbee NWK header for data and command frames (no NWK security processing).

Frame control (16 bits): bits 0-1 frame type (0 data, 1 command, 3 Inter-PAN), 2-5
protocol version, 6-7 discover route, 8 multicast, 9 security, 10 source route,
11 destination IEEE present, 12 source IEEE present, 13 end-device initiator.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from webapp.zigbee.types import EUI64, FrameError, Reader, u8, u16

PROTOCOL_VERSION = 2


class NwkFrameType(IntEnum):
    DATA = 0
    COMMAND = 1
    INTER_PAN = 3


@dataclass(frozen=True)
class NwkHeader:
    dst: int
    src: int
    radius: int
    seq: int
    frame_type: NwkFrameType = NwkFrameType.DATA
    protocol_version: int = PROTOCOL_VERSION
    discover_route: int = 0
    security: bool = False
    end_device_initiator: bool = False
    dst_ieee: EUI64 | None = None
    src_ieee: EUI64 | None = None
    multicast_control: int | None = None
    source_route: tuple[int, ...] | None = None
    source_route_index: int = 0

    def frame_control(self) -> int:
        fc = int(self.frame_type) & 3 | (self.protocol_version & 15) << 2
        fc |= (self.discover_route & 3) << 6
        fc |= (self.multicast_control is not None) << 8
        fc |= self.security << 9
        fc |= (self.source_route is not None) << 10
        fc |= (self.dst_ieee is not None) << 11
        fc |= (self.src_ieee is not None) << 12
        fc |= self.end_device_initiator << 13
        return fc

    def to_bytes(self) -> bytes:
        if self.frame_type == NwkFrameType.INTER_PAN:
            raise ValueError("Inter-PAN frames carry only the stub header (see interpan)")
        out = u16(self.frame_control()) + u16(self.dst) + u16(self.src)
        out += u8(self.radius) + u8(self.seq & 0xFF)
        if self.dst_ieee is not None:
            out += self.dst_ieee.le
        if self.src_ieee is not None:
            out += self.src_ieee.le
        if self.multicast_control is not None:
            out += u8(self.multicast_control)
        if self.source_route is not None:
            out += u8(len(self.source_route)) + u8(self.source_route_index)
            out += b"".join(u16(a) for a in self.source_route)
        return out

    @classmethod
    def read(cls, r: Reader) -> NwkHeader:
        fc = r.u16()
        ftype = fc & 3
        if ftype not in (0, 1):
            raise FrameError(f"not a NWK data/command frame (type {ftype})")
        dst, src, radius, seq = r.u16(), r.u16(), r.u8(), r.u8()
        dst_ieee = r.eui64() if fc & 0x0800 else None
        src_ieee = r.eui64() if fc & 0x1000 else None
        mcast = r.u8() if fc & 0x0100 else None
        route = None
        index = 0
        if fc & 0x0400:
            count, index = r.u8(), r.u8()
            route = tuple(r.u16() for _ in range(count))
        return cls(
            dst=dst,
            src=src,
            radius=radius,
            seq=seq,
            frame_type=NwkFrameType(ftype),
            protocol_version=(fc >> 2) & 15,
            discover_route=(fc >> 6) & 3,
            security=bool(fc & 0x0200),
            end_device_initiator=bool(fc & 0x2000),
            dst_ieee=dst_ieee,
            src_ieee=src_ieee,
            multicast_control=mcast,
            source_route=route,
            source_route_index=index,
        )


@dataclass(frozen=True)
class NwkFrame:
    header: NwkHeader
    payload: bytes = b""  # the APS frame (or, with security set, aux header + ciphertext)

    def to_bytes(self) -> bytes:
        return self.header.to_bytes() + self.payload

    @classmethod
    def from_bytes(cls, data: bytes) -> NwkFrame:
        r = Reader(data, "NWK frame")
        header = NwkHeader.read(r)
        return cls(header, r.rest())
