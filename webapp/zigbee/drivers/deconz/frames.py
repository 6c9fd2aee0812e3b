"""deCONZ serial frames as plain layouts: command ids, statuses, network parameters, the
device-state octet, and the Inter-PAN and beacon commands zigpy-deconz lacks.

Nothing here talks to a port or imports zigpy-deconz: the driver
(:mod:`webapp.zigbee.drivers.deconz.radio`) and the ConBee emulator both build and read
frames with these definitions.  The standard numbers are the deCONZ serial protocol's (as
zigpy-deconz names them); the Inter-PAN and beacon commands are this project's reading of
the deCONZ serial protocol and are UNTESTED ON REAL CONBEE FIRMWARE.

Every deCONZ frame starts: command id u8, sequence u8, status u8, frame length u16 (the
whole frame without its checksum); most commands then carry a payload length u16 and their
fields.  Integers are little-endian, EUI-64s LSB first.

0x13 START_INTERPAN  host: channel u8, options u8 (bit 0: send one beacon request on
                     the channel and report each beacon heard as 0x1F before answering)
                     stick: channel u8; status UNSUPPORTED when it has no Inter-PAN
0x14 SEND_INTERPAN   host: request id u8, channel u8, destination PAN u16, address mode u8
                     (0x01 group, 0x02 short: 0xFFFF broadcast, 0x03 EUI-64), destination
                     (2 or 8 octets), source PAN u16, profile u16, cluster u16,
                     ASDU length u16, ASDU (the ZCL frame); the source address is the
                     stick's own.  stick: request id u8
0x15 INTERPAN_INDICATION  stick, unsolicited: channel u8, source PAN u16, source EUI-64,
                     destination PAN u16, address mode u8, destination, profile u16,
                     cluster u16, ASDU length u16, ASDU, LQI u8, RSSI i8
0x16 INTERPAN_CONFIRM     stick, unsolicited: request id u8, confirm status u8 (0: sent)
0x1F BEACON_INDICATION    stick, unsolicited: source short address u16, PAN u16,
                     channel u8, flags u8 (BeaconFlags), update id u8, LQI u8, RSSI i8
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

from webapp.zigbee.frames.aps import DeliveryMode
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.types import EUI64, FrameError, Reader, u8, u16

FRAME_HEADER = 5  # command id, sequence, status, frame length
SCAN_OPTION = 0x01
#: The network state sits in the low two bits of the device-state octet, the flags above.
NETWORK_STATE_BITS = 2


# ------------------------------------------------------------ the standard commands
class Command(IntEnum):
    """The standard deCONZ commands the driver (through zigpy-deconz) sends or hears."""

    APS_DATA_CONFIRM = 0x04
    DEVICE_STATE = 0x07
    CHANGE_NETWORK_STATE = 0x08
    READ_PARAMETER = 0x0A
    WRITE_PARAMETER = 0x0B
    VERSION = 0x0D
    DEVICE_STATE_CHANGED = 0x0E
    APS_DATA_REQUEST = 0x12
    APS_DATA_INDICATION = 0x17


class Status(IntEnum):
    """The status octet of every frame from the stick."""

    SUCCESS = 0
    FAILURE = 1
    BUSY = 2
    TIMEOUT = 3
    UNSUPPORTED = 4
    ERROR = 5
    NO_NETWORK = 6
    INVALID_VALUE = 7


class NetworkState(IntEnum):
    OFFLINE = 0
    JOINING = 1
    CONNECTED = 2
    LEAVING = 3


class TransmitOptions(IntFlag):
    """The transmit options octet of an APS data request."""

    SECURITY_ENABLED = 0x01  # APS-secured under the destination's link key
    USE_NWK_KEY_SECURITY = 0x02  # network security only
    USE_APS_ACKS = 0x04
    ALLOW_FRAGMENTATION = 0x08


class DeviceStateFlags(IntFlag):
    APSDE_DATA_CONFIRM = 0x01
    APSDE_DATA_INDICATION = 0x02
    CONF_CHANGED = 0x04
    APSDE_DATA_REQUEST_FREE_SLOTS_AVAILABLE = 0x08


def device_state(network: NetworkState, flags: DeviceStateFlags) -> bytes:
    """The device-state octet: the network state and the flags saying what waits."""
    return u8(int(network) | int(flags) << NETWORK_STATE_BITS)


class FirmwarePlatform(IntEnum):
    """The platform octet of the firmware version (its second octet)."""

    CONBEE = 0x05
    CONBEE_II = 0x07
    CONBEE_III = 0x09


class NetworkParameter(IntEnum):
    """READ_PARAMETER / WRITE_PARAMETER ids.  LINK_KEY's value is the peer's EUI-64 then
    its 16-octet key (reading it takes the EUI-64 as argument)."""

    MAC_ADDRESS = 0x01
    NWK_PANID = 0x05
    NWK_ADDRESS = 0x07
    NWK_EXTENDED_PANID = 0x08
    APS_DESIGNED_COORDINATOR = 0x09
    CHANNEL_MASK = 0x0A
    APS_EXTENDED_PANID = 0x0B
    TRUST_CENTER_ADDRESS = 0x0E
    SECURITY_MODE = 0x10
    CONFIGURE_ENDPOINT = 0x13
    USE_PREDEFINED_NWK_PANID = 0x15
    NETWORK_KEY = 0x18
    LINK_KEY = 0x19
    CURRENT_CHANNEL = 0x1C
    PERMIT_JOIN = 0x21
    PROTOCOL_VERSION = 0x22
    NWK_UPDATE_ID = 0x24
    WATCHDOG_TTL = 0x26
    NWK_FRAME_COUNTER = 0x27
    APP_ZDP_RESPONSE_HANDLING = 0x28


# ------------------------------------------------------------ Inter-PAN and beacon frames


class ExtraCommand(IntEnum):
    """The Inter-PAN and beacon commands, added to the standard ones."""

    START_INTERPAN = 0x13
    SEND_INTERPAN = 0x14
    INTERPAN_INDICATION = 0x15
    INTERPAN_CONFIRM = 0x16
    BEACON_INDICATION = 0x1F


EXTRA_COMMANDS = frozenset(int(c) for c in ExtraCommand)


class AddressMode(IntEnum):
    GROUP = 0x01
    SHORT = 0x02
    IEEE = 0x03


class BeaconFlags(IntEnum):
    ASSOCIATION_PERMIT = 0x01
    PAN_COORDINATOR = 0x02
    ROUTER_CAPACITY = 0x04
    END_DEVICE_CAPACITY = 0x08


@dataclass(frozen=True)
class RawFrame:
    """One deCONZ frame with the fields every command shares."""

    command_id: int
    seq: int
    status: int
    body: bytes  # after the payload length when the command has one

    def to_bytes(self, *, payload_length: bool = True) -> bytes:
        inner = u16(len(self.body)) + self.body if payload_length else self.body
        header = u8(self.command_id) + u8(self.seq) + u8(self.status)
        return header + u16(FRAME_HEADER + len(inner)) + inner

    @classmethod
    def from_bytes(cls, data: bytes, *, payload_length: bool = True) -> RawFrame:
        r = Reader(data, "deCONZ frame")
        command_id, seq, status, length = r.u8(), r.u8(), r.u8(), r.u16()
        if length != len(data):
            raise FrameError(f"deCONZ frame says {length} octets, has {len(data)}")
        if payload_length:
            declared = r.u16()
            if declared != r.remaining:
                raise FrameError(f"deCONZ payload says {declared} octets, has {r.remaining}")
        return cls(command_id, seq, status, r.rest())


def _write_address(mode: AddressMode, address: EUI64 | int) -> bytes:
    if mode == AddressMode.IEEE:
        if not isinstance(address, EUI64):
            raise ValueError("an EUI-64 destination needs an EUI64")
        return u8(mode) + address.le
    if isinstance(address, EUI64):
        raise ValueError(f"address mode {mode.name} needs a 16-bit address")
    return u8(mode) + u16(address)


def _read_address(r: Reader) -> tuple[AddressMode, EUI64 | int]:
    raw = r.u8()
    try:
        mode = AddressMode(raw)
    except ValueError as exc:
        raise FrameError(f"unknown address mode {raw:#04x}") from exc
    return mode, (r.eui64() if mode == AddressMode.IEEE else r.u16())


def _signed(value: int) -> int:
    return value - 256 if value > 127 else value


@dataclass(frozen=True)
class InterPanStart:
    channel: int
    scan: bool = False

    def to_bytes(self) -> bytes:
        return u8(self.channel) + u8(SCAN_OPTION if self.scan else 0)

    @classmethod
    def from_bytes(cls, data: bytes) -> InterPanStart:
        r = Reader(data, "START_INTERPAN")
        channel, options = r.u8(), r.u8()
        return cls(channel, bool(options & SCAN_OPTION))


@dataclass(frozen=True)
class InterPanRequest:
    request_id: int
    channel: int
    dst_pan: int
    dst_mode: AddressMode
    dst: EUI64 | int  # EUI-64, short address (0xFFFF broadcast) or group
    src_pan: int
    profile_id: int
    cluster_id: int
    asdu: bytes

    def to_bytes(self) -> bytes:
        return (
            u8(self.request_id)
            + u8(self.channel)
            + u16(self.dst_pan)
            + _write_address(self.dst_mode, self.dst)
            + u16(self.src_pan)
            + u16(self.profile_id)
            + u16(self.cluster_id)
            + u16(len(self.asdu))
            + self.asdu
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> InterPanRequest:
        r = Reader(data, "SEND_INTERPAN")
        request_id, channel, dst_pan = r.u8(), r.u8(), r.u16()
        mode, dst = _read_address(r)
        src_pan, profile, cluster = r.u16(), r.u16(), r.u16()
        asdu = r.take(r.u16())
        return cls(request_id, channel, dst_pan, mode, dst, src_pan, profile, cluster, asdu)

    @classmethod
    def for_frame(cls, request_id: int, channel: int, frame: InterPanFrame) -> InterPanRequest:
        if frame.delivery_mode == DeliveryMode.GROUP:
            mode, dst = AddressMode.GROUP, frame.group if frame.group is not None else 0xFFFF
        elif isinstance(frame.dst, EUI64):
            mode, dst = AddressMode.IEEE, frame.dst
        else:
            mode, dst = AddressMode.SHORT, frame.dst
        return cls(
            request_id,
            channel,
            frame.dst_pan,
            mode,
            dst,
            frame.src_pan,
            frame.profile_id,
            frame.cluster_id,
            frame.payload,
        )

    def to_frame(self, seq: int, src: EUI64) -> InterPanFrame:
        """The frame on air, from the stick at ``src``."""
        return _interpan_frame(
            seq,
            self.dst_pan,
            self.dst_mode,
            self.dst,
            self.src_pan,
            src,
            self.profile_id,
            self.cluster_id,
            self.asdu,
        )


@dataclass(frozen=True)
class InterPanIndication:
    channel: int
    src_pan: int
    src: EUI64
    dst_pan: int
    dst_mode: AddressMode
    dst: EUI64 | int
    profile_id: int
    cluster_id: int
    asdu: bytes
    lqi: int
    rssi: int

    def to_bytes(self) -> bytes:
        return (
            u8(self.channel)
            + u16(self.src_pan)
            + self.src.le
            + u16(self.dst_pan)
            + _write_address(self.dst_mode, self.dst)
            + u16(self.profile_id)
            + u16(self.cluster_id)
            + u16(len(self.asdu))
            + self.asdu
            + u8(self.lqi)
            + u8(self.rssi & 0xFF)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> InterPanIndication:
        r = Reader(data, "INTERPAN_INDICATION")
        channel, src_pan, src, dst_pan = r.u8(), r.u16(), r.eui64(), r.u16()
        mode, dst = _read_address(r)
        profile, cluster = r.u16(), r.u16()
        asdu = r.take(r.u16())
        lqi, rssi = r.u8(), _signed(r.u8())
        return cls(channel, src_pan, src, dst_pan, mode, dst, profile, cluster, asdu, lqi, rssi)

    @classmethod
    def for_frame(
        cls, channel: int, frame: InterPanFrame, lqi: int, rssi: int
    ) -> InterPanIndication:
        request = InterPanRequest.for_frame(0, channel, frame)
        return cls(
            channel,
            frame.src_pan,
            frame.src,
            frame.dst_pan,
            request.dst_mode,
            request.dst,
            frame.profile_id,
            frame.cluster_id,
            frame.payload,
            lqi,
            rssi,
        )

    def to_frame(self) -> InterPanFrame:
        return _interpan_frame(
            0,
            self.dst_pan,
            self.dst_mode,
            self.dst,
            self.src_pan,
            self.src,
            self.profile_id,
            self.cluster_id,
            self.asdu,
        )


def _interpan_frame(
    seq: int,
    dst_pan: int,
    mode: AddressMode,
    dst: EUI64 | int,
    src_pan: int,
    src: EUI64,
    profile: int,
    cluster: int,
    payload: bytes,
) -> InterPanFrame:
    if mode == AddressMode.GROUP:
        assert isinstance(dst, int)
        return InterPanFrame(
            seq, dst_pan, 0xFFFF, src_pan, src, cluster, payload, profile, DeliveryMode.GROUP, dst
        )
    delivery = DeliveryMode.UNICAST if mode == AddressMode.IEEE else DeliveryMode.BROADCAST
    return InterPanFrame(seq, dst_pan, dst, src_pan, src, cluster, payload, profile, delivery)


@dataclass(frozen=True)
class InterPanConfirm:
    request_id: int
    status: int

    def to_bytes(self) -> bytes:
        return u8(self.request_id) + u8(self.status)

    @classmethod
    def from_bytes(cls, data: bytes) -> InterPanConfirm:
        r = Reader(data, "INTERPAN_CONFIRM")
        return cls(r.u8(), r.u8())


@dataclass(frozen=True)
class BeaconIndication:
    src_short: int
    pan_id: int
    channel: int
    flags: int
    update_id: int
    lqi: int
    rssi: int

    @property
    def permit_join(self) -> bool:
        return bool(self.flags & BeaconFlags.ASSOCIATION_PERMIT)

    def to_bytes(self) -> bytes:
        return (
            u16(self.src_short)
            + u16(self.pan_id)
            + u8(self.channel)
            + u8(self.flags)
            + u8(self.update_id)
            + u8(self.lqi)
            + u8(self.rssi & 0xFF)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> BeaconIndication:
        r = Reader(data, "BEACON_INDICATION")
        src, pan, channel, flags, update = r.u16(), r.u16(), r.u8(), r.u8(), r.u8()
        lqi, rssi = r.u8(), _signed(r.u8())
        return cls(src, pan, channel, flags, update, lqi, rssi)
