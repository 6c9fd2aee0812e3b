"""Reading a hub's clock: ZCL Read Attributes on the Time cluster (0x000A).

Time (0x0000) is a UTCTime, seconds since 2000-01-01T00:00:00Z; TimeStatus (0x0001) is a
bitmap whose bit 1 says the clock is synchronised to a master.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.gbcs.zcl_ids import (
    CLUSTER_TIME,
    CMD_READ_ATTRIBUTES,
    CMD_READ_ATTRIBUTES_RESPONSE,
    TYPE_BITMAP8,
    TYPE_UTC_TIME,
)
from webapp.gbcs.zcl_status import STATUS_SUCCESS
from webapp.zigbee.frames.zcl import Direction, ZclFrame, ZclFrameType, ZclHeader
from webapp.zigbee.types import FrameError, Reader, u8, u16, u32

CLUSTER_ID = CLUSTER_TIME
ATTR_TIME = 0x0000
ATTR_TIME_STATUS = 0x0001
TIME_STATUS_SYNCHRONIZED = 0x02
ZIGBEE_EPOCH = 946_684_800  # 2000-01-01T00:00:00Z in Unix seconds


@dataclass(frozen=True)
class HubTime:
    unix_seconds: float
    synchronised: bool


def encode_read_time(tsn: int) -> bytes:
    header = ZclHeader(CMD_READ_ATTRIBUTES, tsn & 0xFF, ZclFrameType.GLOBAL)
    return header.to_bytes() + u16(ATTR_TIME) + u16(ATTR_TIME_STATUS)


def decode_read_time(frame: bytes) -> ZclHeader:
    zcl = ZclFrame.from_bytes(frame)
    if zcl.header.frame_type != ZclFrameType.GLOBAL or zcl.header.command_id != CMD_READ_ATTRIBUTES:
        raise FrameError("not a Read Attributes command")
    return zcl.header


def encode_time_response(time: HubTime, tsn: int) -> bytes:
    header = ZclHeader(
        CMD_READ_ATTRIBUTES_RESPONSE,
        tsn & 0xFF,
        ZclFrameType.GLOBAL,
        Direction.SERVER_TO_CLIENT,
        disable_default_response=True,
    )
    seconds = max(0, int(time.unix_seconds) - ZIGBEE_EPOCH)
    status = TIME_STATUS_SYNCHRONIZED if time.synchronised else 0
    return (
        header.to_bytes()
        + u16(ATTR_TIME)
        + u8(STATUS_SUCCESS)
        + u8(TYPE_UTC_TIME)
        + u32(seconds)
        + u16(ATTR_TIME_STATUS)
        + u8(STATUS_SUCCESS)
        + u8(TYPE_BITMAP8)
        + u8(status)
    )


def decode_time_response(frame: bytes) -> HubTime:
    zcl = ZclFrame.from_bytes(frame)
    if (
        zcl.header.frame_type != ZclFrameType.GLOBAL
        or zcl.header.command_id != CMD_READ_ATTRIBUTES_RESPONSE
    ):
        raise FrameError("not a Read Attributes response")
    r = Reader(zcl.payload, "Read Attributes response")
    seconds: int | None = None
    status_bits = 0
    while r.remaining:
        attr, status = r.u16(), r.u8()
        if status != STATUS_SUCCESS:
            continue
        kind = r.u8()
        if kind == TYPE_UTC_TIME:
            value = r.u32()
        elif kind == TYPE_BITMAP8:
            value = r.u8()
        else:
            raise FrameError(f"unexpected attribute type {kind:#04x}")
        if attr == ATTR_TIME:
            seconds = value
        elif attr == ATTR_TIME_STATUS:
            status_bits = value
    if seconds is None:
        raise FrameError("the hub did not report its Time attribute")
    return HubTime(seconds + ZIGBEE_EPOCH, bool(status_bits & TIME_STATUS_SYNCHRONIZED))
