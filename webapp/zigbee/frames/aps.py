"""Zigbee APS header for data, command and acknowledgement frames, with the extended
header used by fragmentation.

Frame control (8 bits): bits 0-1 frame type (0 data, 1 command, 2 ack, 3 Inter-PAN),
2-3 delivery mode (0 unicast, 2 broadcast, 3 group), 4 ack format, 5 security,
6 ack request, 7 extended header present.  Extended frame control: bits 0-1
fragmentation (0 none, 1 first block, 2 later block); then the block number (for the
first block: the total number of blocks) and, in acks, the ack bitfield.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from webapp.zigbee.types import FrameError, Reader, u8, u16


class ApsFrameType(IntEnum):
    DATA = 0
    COMMAND = 1
    ACK = 2
    INTER_PAN = 3


class DeliveryMode(IntEnum):
    UNICAST = 0
    BROADCAST = 2
    GROUP = 3


class Fragmentation(IntEnum):
    NONE = 0
    FIRST = 1
    SUBSEQUENT = 2


@dataclass(frozen=True)
class ApsHeader:
    frame_type: ApsFrameType
    counter: int
    delivery_mode: DeliveryMode = DeliveryMode.UNICAST
    dst_endpoint: int | None = None
    group: int | None = None
    cluster_id: int | None = None
    profile_id: int | None = None
    src_endpoint: int | None = None
    ack_format: bool = False
    security: bool = False
    ack_request: bool = False
    fragmentation: Fragmentation = Fragmentation.NONE
    block_number: int = 0
    ack_bitfield: int | None = None

    @property
    def extended(self) -> bool:
        return self.fragmentation != Fragmentation.NONE

    def _addressing(self) -> bool:
        """Data frames and ack frames with ack format 0 carry endpoints/cluster/profile."""
        if self.frame_type == ApsFrameType.DATA:
            return True
        return self.frame_type == ApsFrameType.ACK and not self.ack_format

    def to_bytes(self) -> bytes:
        if self.frame_type == ApsFrameType.INTER_PAN:
            raise ValueError("Inter-PAN frames carry only the stub header (see interpan)")
        fc = int(self.frame_type) | int(self.delivery_mode) << 2
        fc |= self.ack_format << 4 | self.security << 5 | self.ack_request << 6
        fc |= self.extended << 7
        out = u8(fc)
        if self._addressing():
            if self.delivery_mode == DeliveryMode.GROUP and self.frame_type == ApsFrameType.DATA:
                out += u16(_need(self.group, "group"))
            else:
                out += u8(_need(self.dst_endpoint, "dst_endpoint"))
            out += u16(_need(self.cluster_id, "cluster_id"))
            out += u16(_need(self.profile_id, "profile_id"))
            out += u8(_need(self.src_endpoint, "src_endpoint"))
        out += u8(self.counter & 0xFF)
        if self.extended:
            out += u8(int(self.fragmentation)) + u8(self.block_number)
            if self.frame_type == ApsFrameType.ACK:
                out += u8(_need(self.ack_bitfield, "ack_bitfield"))
        return out

    @classmethod
    def read(cls, r: Reader) -> ApsHeader:
        fc = r.u8()
        ftype = ApsFrameType(fc & 3)
        if ftype == ApsFrameType.INTER_PAN:
            raise FrameError("Inter-PAN APS header in a NWK data frame")
        mode = (fc >> 2) & 3
        if mode == 1:
            raise FrameError("reserved APS delivery mode 1")
        ack_format = bool(fc & 0x10)
        dst_ep = group = cluster = profile = src_ep = None
        addressing = ftype == ApsFrameType.DATA or (ftype == ApsFrameType.ACK and not ack_format)
        if addressing:
            if mode == DeliveryMode.GROUP and ftype == ApsFrameType.DATA:
                group = r.u16()
            else:
                dst_ep = r.u8()
            cluster, profile, src_ep = r.u16(), r.u16(), r.u8()
        counter = r.u8()
        frag = Fragmentation.NONE
        block = 0
        bitfield = None
        if fc & 0x80:
            ext = r.u8()
            if ext & 3 == 3:
                raise FrameError("reserved APS fragmentation value 3")
            frag = Fragmentation(ext & 3)
            if frag != Fragmentation.NONE:
                block = r.u8()
                if ftype == ApsFrameType.ACK:
                    bitfield = r.u8()
        return cls(
            frame_type=ftype,
            counter=counter,
            delivery_mode=DeliveryMode(mode),
            dst_endpoint=dst_ep,
            group=group,
            cluster_id=cluster,
            profile_id=profile,
            src_endpoint=src_ep,
            ack_format=ack_format,
            security=bool(fc & 0x20),
            ack_request=bool(fc & 0x40),
            fragmentation=frag,
            block_number=block,
            ack_bitfield=bitfield,
        )


def _need(value: int | None, name: str) -> int:
    if value is None:
        raise ValueError(f"APS header needs {name}")
    return value


@dataclass(frozen=True)
class ApsFrame:
    header: ApsHeader
    payload: bytes = b""  # ZCL frame, or APS command id + fields

    def to_bytes(self) -> bytes:
        return self.header.to_bytes() + self.payload

    @classmethod
    def from_bytes(cls, data: bytes) -> ApsFrame:
        r = Reader(data, "APS frame")
        header = ApsHeader.read(r)
        return cls(header, r.rest())
