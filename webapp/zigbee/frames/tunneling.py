"""Tunneling cluster (0x0704) commands, both directions.

Command ids differ by direction (ZCL header direction bit):
client to server 0x00 RequestTunnel, 0x01 CloseTunnel, 0x02 TransferData,
0x03 TransferDataError, 0x04 AckTransferData, 0x05 ReadyData,
0x06 GetSupportedTunnelProtocols; server to client 0x00 RequestTunnelResponse,
0x01 TransferData, 0x02 TransferDataError, 0x03 AckTransferData, 0x04 ReadyData,
0x05 SupportedTunnelProtocolsResponse, 0x06 TunnelClosureNotification.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from webapp.gbcs.zcl_ids import CLUSTER_TUNNELING
from webapp.zigbee.frames.zcl import Direction, ZclFrame, ZclFrameType, ZclHeader
from webapp.zigbee.types import FrameError, Reader, u8, u16

CLUSTER_ID = CLUSTER_TUNNELING

GB_HRGP_PROTOCOL_ID = 6
GB_HRGP_MANUFACTURER_CODE = 0xFFFF
GB_HRGP_MAX_TRANSFER_SIZE = 1500


class TunnelStatus(IntEnum):
    """RequestTunnelResponse status."""

    SUCCESS = 0x00
    BUSY = 0x01
    NO_MORE_TUNNEL_IDS = 0x02
    PROTOCOL_NOT_SUPPORTED = 0x03
    FLOW_CONTROL_NOT_SUPPORTED = 0x04


class TransferDataStatus(IntEnum):
    """TransferDataError status."""

    NO_SUCH_TUNNEL = 0x00
    WRONG_DEVICE = 0x01
    DATA_OVERFLOW = 0x02


@dataclass(frozen=True)
class RequestTunnel:
    protocol_id: int
    manufacturer_code: int
    flow_control: bool
    max_incoming_transfer_size: int

    def payload(self) -> bytes:
        return (
            u8(self.protocol_id)
            + u16(self.manufacturer_code)
            + u8(1 if self.flow_control else 0)
            + u16(self.max_incoming_transfer_size)
        )

    @classmethod
    def read(cls, r: Reader) -> RequestTunnel:
        return cls(r.u8(), r.u16(), bool(r.u8()), r.u16())


GB_HRGP_REQUEST = RequestTunnel(
    protocol_id=GB_HRGP_PROTOCOL_ID,
    manufacturer_code=GB_HRGP_MANUFACTURER_CODE,
    flow_control=False,
    max_incoming_transfer_size=GB_HRGP_MAX_TRANSFER_SIZE,
)


@dataclass(frozen=True)
class RequestTunnelResponse:
    tunnel_id: int
    status: int
    max_incoming_transfer_size: int

    def payload(self) -> bytes:
        return u16(self.tunnel_id) + u8(self.status) + u16(self.max_incoming_transfer_size)

    @classmethod
    def read(cls, r: Reader) -> RequestTunnelResponse:
        return cls(r.u16(), r.u8(), r.u16())


@dataclass(frozen=True)
class TransferData:
    tunnel_id: int
    data: bytes

    def payload(self) -> bytes:
        return u16(self.tunnel_id) + self.data

    @classmethod
    def read(cls, r: Reader) -> TransferData:
        return cls(r.u16(), r.rest())


@dataclass(frozen=True)
class TransferDataError:
    tunnel_id: int
    status: int

    def payload(self) -> bytes:
        return u16(self.tunnel_id) + u8(self.status)

    @classmethod
    def read(cls, r: Reader) -> TransferDataError:
        return cls(r.u16(), r.u8())


@dataclass(frozen=True)
class AckTransferData:
    tunnel_id: int
    bytes_left: int

    def payload(self) -> bytes:
        return u16(self.tunnel_id) + u16(self.bytes_left)

    @classmethod
    def read(cls, r: Reader) -> AckTransferData:
        return cls(r.u16(), r.u16())


@dataclass(frozen=True)
class ReadyData:
    tunnel_id: int
    octets_left: int

    def payload(self) -> bytes:
        return u16(self.tunnel_id) + u16(self.octets_left)

    @classmethod
    def read(cls, r: Reader) -> ReadyData:
        return cls(r.u16(), r.u16())


@dataclass(frozen=True)
class CloseTunnel:
    tunnel_id: int

    def payload(self) -> bytes:
        return u16(self.tunnel_id)

    @classmethod
    def read(cls, r: Reader) -> CloseTunnel:
        return cls(r.u16())


@dataclass(frozen=True)
class TunnelClosureNotification:
    tunnel_id: int

    def payload(self) -> bytes:
        return u16(self.tunnel_id)

    @classmethod
    def read(cls, r: Reader) -> TunnelClosureNotification:
        return cls(r.u16())


@dataclass(frozen=True)
class GetSupportedTunnelProtocols:
    protocol_offset: int = 0

    def payload(self) -> bytes:
        return u8(self.protocol_offset)

    @classmethod
    def read(cls, r: Reader) -> GetSupportedTunnelProtocols:
        return cls(r.u8())


@dataclass(frozen=True)
class SupportedTunnelProtocolsResponse:
    list_complete: bool
    protocols: tuple[tuple[int, int], ...]  # (manufacturer code, protocol id)

    def payload(self) -> bytes:
        out = u8(1 if self.list_complete else 0) + u8(len(self.protocols))
        for mfr, pid in self.protocols:
            out += u16(mfr) + u8(pid)
        return out

    @classmethod
    def read(cls, r: Reader) -> SupportedTunnelProtocolsResponse:
        complete = bool(r.u8())
        count = r.u8()
        return cls(complete, tuple((r.u16(), r.u8()) for _ in range(count)))


TunnelCommand = (
    RequestTunnel
    | RequestTunnelResponse
    | TransferData
    | TransferDataError
    | AckTransferData
    | ReadyData
    | CloseTunnel
    | TunnelClosureNotification
    | GetSupportedTunnelProtocols
    | SupportedTunnelProtocolsResponse
)

_CLIENT_TO_SERVER: dict[int, type] = {
    0x00: RequestTunnel,
    0x01: CloseTunnel,
    0x02: TransferData,
    0x03: TransferDataError,
    0x04: AckTransferData,
    0x05: ReadyData,
    0x06: GetSupportedTunnelProtocols,
}
_SERVER_TO_CLIENT: dict[int, type] = {
    0x00: RequestTunnelResponse,
    0x01: TransferData,
    0x02: TransferDataError,
    0x03: AckTransferData,
    0x04: ReadyData,
    0x05: SupportedTunnelProtocolsResponse,
    0x06: TunnelClosureNotification,
}
_TABLES = {
    Direction.CLIENT_TO_SERVER: _CLIENT_TO_SERVER,
    Direction.SERVER_TO_CLIENT: _SERVER_TO_CLIENT,
}
_IDS = {d: {cls: cid for cid, cls in table.items()} for d, table in _TABLES.items()}


def command_id(command: TunnelCommand, direction: Direction) -> int:
    try:
        return _IDS[direction][type(command)]
    except KeyError:
        raise ValueError(f"{type(command).__name__} is not sent {direction.name}") from None


def encode_tunneling(command: TunnelCommand, direction: Direction, tsn: int) -> bytes:
    """The ZCL frame carrying ``command`` in ``direction``."""
    header = ZclHeader(
        command_id=command_id(command, direction),
        tsn=tsn & 0xFF,
        frame_type=ZclFrameType.CLUSTER,
        direction=direction,
        disable_default_response=isinstance(command, TransferData),
    )
    return header.to_bytes() + command.payload()


def decode_tunneling(frame: bytes) -> tuple[ZclHeader, TunnelCommand]:
    zcl = ZclFrame.from_bytes(frame)
    header = zcl.header
    if header.frame_type != ZclFrameType.CLUSTER or header.manufacturer_code is not None:
        raise FrameError("not a Tunneling cluster command")
    cls = _TABLES[header.direction].get(header.command_id)
    if cls is None:
        raise FrameError(f"unknown Tunneling command {header.command_id:#04x}")
    r = Reader(zcl.payload, cls.__name__)
    command = cls.read(r)
    r.done()
    return header, command
