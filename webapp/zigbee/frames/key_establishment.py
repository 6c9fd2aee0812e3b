"""Key Establishment cluster (0x0800) commands.

The same four command ids run in both directions: client to server they are the
requests, server to client the responses, with identical payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from webapp.gbcs.zcl_ids import CLUSTER_KEY_ESTABLISHMENT
from webapp.zigbee.frames.zcl import Direction, ZclFrame, ZclFrameType, ZclHeader
from webapp.zigbee.types import FrameError, Reader, u8, u16

CLUSTER_ID = CLUSTER_KEY_ESTABLISHMENT
SMART_ENERGY_PROFILE = 0x0109


class KeCommandId(IntEnum):
    INITIATE_KEY_ESTABLISHMENT = 0x00
    EPHEMERAL_DATA = 0x01
    CONFIRM_KEY_DATA = 0x02
    TERMINATE_KEY_ESTABLISHMENT = 0x03


class TerminateStatus(IntEnum):
    UNKNOWN_ISSUER = 0x01
    BAD_KEY_CONFIRM = 0x02
    BAD_MESSAGE = 0x03
    NO_RESOURCES = 0x04
    UNSUPPORTED_SUITE = 0x05
    INVALID_CERTIFICATE = 0x06


@dataclass(frozen=True)
class InitiateKeyEstablishment:
    """Request (client to server) and response (server to client)."""

    suite: int
    ephemeral_data_generate_time: int
    confirm_key_generate_time: int
    identity: bytes  # the sender's implicit certificate (48 or 74 octets)

    command_id = KeCommandId.INITIATE_KEY_ESTABLISHMENT

    def payload(self) -> bytes:
        return (
            u16(self.suite)
            + u8(self.ephemeral_data_generate_time)
            + u8(self.confirm_key_generate_time)
            + self.identity
        )

    @classmethod
    def parse(cls, data: bytes) -> InitiateKeyEstablishment:
        r = Reader(data, "Initiate Key Establishment")
        suite, eph, conf = r.u16(), r.u8(), r.u8()
        identity = r.rest()
        if not identity:
            raise FrameError("Initiate Key Establishment without identity")
        return cls(suite, eph, conf, identity)


@dataclass(frozen=True)
class EphemeralData:
    data: bytes  # compressed ephemeral public key (22 or 37 octets)

    command_id = KeCommandId.EPHEMERAL_DATA

    def payload(self) -> bytes:
        return self.data

    @classmethod
    def parse(cls, data: bytes) -> EphemeralData:
        if not data:
            raise FrameError("Ephemeral Data without key")
        return cls(bytes(data))


@dataclass(frozen=True)
class ConfirmKeyData:
    mac: bytes  # MACU (request) or MACV (response), 16 octets

    command_id = KeCommandId.CONFIRM_KEY_DATA

    def payload(self) -> bytes:
        return self.mac

    @classmethod
    def parse(cls, data: bytes) -> ConfirmKeyData:
        if len(data) != 16:
            raise FrameError(f"Confirm Key Data MAC must be 16 octets, not {len(data)}")
        return cls(bytes(data))


@dataclass(frozen=True)
class TerminateKeyEstablishment:
    status: int
    wait_time: int  # seconds before the peer may try again
    suite: int

    command_id = KeCommandId.TERMINATE_KEY_ESTABLISHMENT

    def payload(self) -> bytes:
        return u8(self.status) + u8(self.wait_time) + u16(self.suite)

    @classmethod
    def parse(cls, data: bytes) -> TerminateKeyEstablishment:
        r = Reader(data, "Terminate Key Establishment")
        out = cls(r.u8(), r.u8(), r.u16())
        r.done()
        return out


KeCommand = InitiateKeyEstablishment | EphemeralData | ConfirmKeyData | TerminateKeyEstablishment

_PARSERS = {
    KeCommandId.INITIATE_KEY_ESTABLISHMENT: InitiateKeyEstablishment.parse,
    KeCommandId.EPHEMERAL_DATA: EphemeralData.parse,
    KeCommandId.CONFIRM_KEY_DATA: ConfirmKeyData.parse,
    KeCommandId.TERMINATE_KEY_ESTABLISHMENT: TerminateKeyEstablishment.parse,
}


def encode_ke(command: KeCommand, direction: Direction, tsn: int) -> bytes:
    """The ZCL frame (header + payload) carrying ``command``."""
    header = ZclHeader(
        command_id=int(command.command_id),
        tsn=tsn & 0xFF,
        frame_type=ZclFrameType.CLUSTER,
        direction=direction,
        disable_default_response=True,
    )
    return header.to_bytes() + command.payload()


def decode_ke(frame: bytes) -> tuple[ZclHeader, KeCommand]:
    """Split a Key Establishment ZCL frame into its header and command."""
    zcl = ZclFrame.from_bytes(frame)
    header = zcl.header
    if header.frame_type != ZclFrameType.CLUSTER or header.manufacturer_code is not None:
        raise FrameError("not a Key Establishment cluster command")
    try:
        parser = _PARSERS[KeCommandId(header.command_id)]
    except ValueError as exc:
        raise FrameError(f"unknown Key Establishment command {header.command_id:#04x}") from exc
    return header, parser(zcl.payload)
