"""APS command frames (Zigbee spec 4.4.10): an APS header of frame type 1 (command: frame
control and APS counter only), then the command identifier and its fields.

Transport Key (0x05) carrying the standard network key (key type 1): key (16 octets, in
the order CCM* uses it), key sequence number (1), destination EUI-64 (8, LSB first),
source EUI-64 (8, LSB first).  The trust centre sends it secured with the key-transport
key hashed from the joining device's link key.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from webapp.zigbee.frames.aps import ApsFrameType, ApsHeader
from webapp.zigbee.types import EUI64, FrameError, Reader, u8

KEY_LENGTH = 16


class ApsCommandId(IntEnum):
    TRANSPORT_KEY = 0x05
    UPDATE_DEVICE = 0x06
    REMOVE_DEVICE = 0x07
    REQUEST_KEY = 0x08
    SWITCH_KEY = 0x09
    TUNNEL = 0x0E
    VERIFY_KEY = 0x0F
    CONFIRM_KEY = 0x10


class KeyType(IntEnum):
    """Transport Key key types (Zigbee PRO 2007 onwards)."""

    STANDARD_NETWORK_KEY = 0x01
    APPLICATION_LINK_KEY = 0x03
    TRUST_CENTER_LINK_KEY = 0x04


def command_header(counter: int, *, ack_request: bool = False, security: bool = True) -> ApsHeader:
    """The header of an APS command frame (secured unless ``security`` is False)."""
    return ApsHeader(ApsFrameType.COMMAND, counter, security=security, ack_request=ack_request)


def split_command(payload: bytes) -> tuple[int, bytes]:
    """An APS command payload as (command identifier, its fields)."""
    r = Reader(payload, "APS command")
    return r.u8(), r.rest()


@dataclass(frozen=True)
class TransportNetworkKey:
    """Transport Key command with the standard network key: ``key`` (16 octets),
    ``key_seq`` (its sequence number), ``destination`` (the device the key is for) and
    ``source`` (the trust centre)."""

    key: bytes
    key_seq: int
    destination: EUI64
    source: EUI64

    def __post_init__(self) -> None:
        if len(self.key) != KEY_LENGTH:
            raise ValueError(f"network key must be {KEY_LENGTH} octets, not {len(self.key)}")
        if not 0 <= self.key_seq <= 0xFF:
            raise ValueError(f"key sequence number out of range: {self.key_seq}")

    def to_bytes(self) -> bytes:
        """The APS command payload: command identifier, key type, then the fields."""
        return (
            u8(ApsCommandId.TRANSPORT_KEY)
            + u8(KeyType.STANDARD_NETWORK_KEY)
            + self.key
            + u8(self.key_seq)
            + self.destination.le
            + self.source.le
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> TransportNetworkKey:
        r = Reader(data, "APS Transport Key")
        command = r.u8()
        if command != ApsCommandId.TRANSPORT_KEY:
            raise FrameError(f"APS command 0x{command:02X} is not Transport Key (0x05)")
        key_type = r.u8()
        if key_type != KeyType.STANDARD_NETWORK_KEY:
            raise FrameError(f"Transport Key of key type {key_type}, not the network key (1)")
        key = r.take(KEY_LENGTH)
        key_seq = r.u8()
        destination, source = r.eui64(), r.eui64()
        r.done()
        return cls(key, key_seq, destination, source)
