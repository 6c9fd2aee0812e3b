"""The HHT's registration with a hub: its entity id and install code, sent over Inter-PAN.

GBCS has the HHT send its Install Code and Entity Identifier under the link key that
Inter-PAN key establishment produced; the hub then adds the HHT to its device log.  The
wire layout below is this project's: GBCS describes the step but the public material does
not give its frame, so it is kept in this one module.

A Registration is a cluster-specific ZCL command (client to server) on the
manufacturer-specific cluster ``REGISTRATION_CLUSTER``, whose payload is sealed with AES-CCM*
(4-octet MIC) under the Inter-PAN link key::

    frame counter u32 | ciphertext( entity id (8, LSB first) | code length u8 | code+CRC ) | MIC

The nonce is the sender's EUI-64 (LSB first), the frame counter and a security-control
octet, as in Zigbee's own CCM* nonce.  The hub answers with a RegistrationResponse
carrying one status octet.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from webapp.zigbee.frames.zcl import Direction, ZclFrame, ZclFrameType, ZclHeader
from webapp.zigbee.types import EUI64, FrameError, Reader, u8, u32

REGISTRATION_CLUSTER = 0xFC00
COMMAND_REGISTER = 0x00
COMMAND_REGISTER_RESPONSE = 0x00
MIC_LENGTH = 4
SECURITY_CONTROL = 0x05  # security level ENC-MIC-32, as in Zigbee's CCM* nonce
KEY_LENGTH = 16


class RegistrationStatus(IntEnum):
    ACCEPTED = 0x00
    REFUSED = 0x01  # the hub will not add this HHT (device log full, or not allowed)
    BAD_CODE = 0x02  # the install code's CRC does not check


@dataclass(frozen=True)
class Registration:
    entity_id: EUI64
    install_code: bytes  # the code with its CRC, 8, 10, 14 or 18 octets


def _nonce(sender: EUI64, frame_counter: int) -> bytes:
    return sender.le + u32(frame_counter) + u8(SECURITY_CONTROL)


def seal_registration(
    registration: Registration, key: bytes, sender: EUI64, frame_counter: int, tsn: int
) -> bytes:
    """The ZCL frame carrying ``registration`` sealed under ``key``."""
    if len(key) != KEY_LENGTH:
        raise ValueError("the link key is 16 octets")
    code = registration.install_code
    if not 0 < len(code) <= 0xFF:
        raise ValueError("install code length out of range")
    plain = registration.entity_id.le + u8(len(code)) + code
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    sealed = AESCCM(key, tag_length=MIC_LENGTH).encrypt(_nonce(sender, frame_counter), plain, None)
    header = ZclHeader(COMMAND_REGISTER, tsn & 0xFF, ZclFrameType.CLUSTER)
    return header.to_bytes() + u32(frame_counter) + sealed


def open_registration(frame: bytes, key: bytes, sender: EUI64) -> tuple[ZclHeader, Registration]:
    """Check and decrypt a Registration frame; FrameError names what is wrong."""
    zcl = ZclFrame.from_bytes(frame)
    header = zcl.header
    if (
        header.frame_type != ZclFrameType.CLUSTER
        or header.direction != Direction.CLIENT_TO_SERVER
        or header.command_id != COMMAND_REGISTER
    ):
        raise FrameError("not a Registration command")
    r = Reader(zcl.payload, "Registration")
    counter = r.u32()
    sealed = r.rest()
    if len(sealed) < MIC_LENGTH + 9:
        raise FrameError("Registration too short")
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    try:
        plain = AESCCM(key, tag_length=MIC_LENGTH).decrypt(_nonce(sender, counter), sealed, None)
    except InvalidTag:
        raise FrameError("Registration MIC does not check (wrong link key)") from None
    body = Reader(plain, "Registration body")
    entity = body.eui64()
    code = body.take(body.u8())
    body.done()
    return header, Registration(entity, code)


def encode_registration_response(status: RegistrationStatus, tsn: int) -> bytes:
    header = ZclHeader(
        COMMAND_REGISTER_RESPONSE,
        tsn & 0xFF,
        ZclFrameType.CLUSTER,
        Direction.SERVER_TO_CLIENT,
        disable_default_response=True,
    )
    return header.to_bytes() + u8(int(status))


def decode_registration_response(frame: bytes) -> tuple[ZclHeader, int]:
    zcl = ZclFrame.from_bytes(frame)
    if (
        zcl.header.direction != Direction.SERVER_TO_CLIENT
        or zcl.header.command_id != COMMAND_REGISTER_RESPONSE
        or len(zcl.payload) != 1
    ):
        raise FrameError("not a Registration response")
    return zcl.header, zcl.payload[0]
