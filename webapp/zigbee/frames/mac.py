"""IEEE 802.15.4 MAC frames: header, data frames, beacon frames with the Zigbee beacon payload.

Frame control (16 bits, little-endian): bits 0-2 frame type, 3 security, 4 frame pending,
5 ack request, 6 PAN ID compression, 10-11 destination addressing mode, 12-13 frame
version, 14-15 source addressing mode (0 none, 2 short, 3 extended).  The FCS (CRC-16
ITU-T, LSB first) is optional: sticks usually hand frames over without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from webapp.zigbee.types import EUI64, FrameError, Reader, u8, u16, u24

BROADCAST_PAN = 0xFFFF
BROADCAST_SHORT = 0xFFFF

Address = int | EUI64 | None


class MacFrameType(IntEnum):
    BEACON = 0
    DATA = 1
    ACK = 2
    COMMAND = 3


class AddrMode(IntEnum):
    NONE = 0
    SHORT = 2
    LONG = 3


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16_kermit(data: bytes) -> int:
    """802.15.4 FCS: CRC-16 ITU-T, reflected polynomial 0x8408, init 0 (a byte at a time
    from a 256-entry table)."""
    crc = 0
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def _mode(addr: Address) -> AddrMode:
    if addr is None:
        return AddrMode.NONE
    if isinstance(addr, EUI64):
        return AddrMode.LONG
    if not 0 <= addr <= 0xFFFF:
        raise ValueError(f"short address out of range: {addr}")
    return AddrMode.SHORT


def _write_addr(addr: Address) -> bytes:
    if addr is None:
        return b""
    if isinstance(addr, EUI64):
        return addr.le
    return u16(addr)


def _read_addr(r: Reader, mode: int) -> Address:
    if mode == AddrMode.NONE:
        return None
    if mode == AddrMode.SHORT:
        return r.u16()
    if mode == AddrMode.LONG:
        return r.eui64()
    raise FrameError("reserved MAC addressing mode 1")


@dataclass(frozen=True)
class MacHeader:
    frame_type: MacFrameType
    seq: int
    dst_pan: int | None = None
    dst: Address = None
    src_pan: int | None = None
    src: Address = None
    security: bool = False
    frame_pending: bool = False
    ack_request: bool = False
    pan_id_compression: bool = False
    frame_version: int = 0

    def to_bytes(self) -> bytes:
        dmode, smode = _mode(self.dst), _mode(self.src)
        fc = int(self.frame_type) & 7
        fc |= self.security << 3 | self.frame_pending << 4 | self.ack_request << 5
        fc |= self.pan_id_compression << 6
        fc |= int(dmode) << 10 | (self.frame_version & 3) << 12 | int(smode) << 14
        out = u16(fc) + u8(self.seq & 0xFF)
        if dmode != AddrMode.NONE:
            if self.dst_pan is None:
                raise ValueError("destination address without destination PAN id")
            out += u16(self.dst_pan) + _write_addr(self.dst)
        if smode != AddrMode.NONE:
            if not self.pan_id_compression:
                if self.src_pan is None:
                    raise ValueError("source address without source PAN id")
                out += u16(self.src_pan)
            out += _write_addr(self.src)
        return out

    @classmethod
    def read(cls, r: Reader) -> MacHeader:
        fc = r.u16()
        ftype = fc & 7
        if ftype > 3:
            raise FrameError(f"unsupported MAC frame type {ftype}")
        dmode, smode = (fc >> 10) & 3, (fc >> 14) & 3
        compression = bool(fc & 0x40)
        seq = r.u8()
        dst_pan = r.u16() if dmode else None
        dst = _read_addr(r, dmode)
        src_pan = None
        if smode:
            src_pan = dst_pan if compression else r.u16()
        src = _read_addr(r, smode)
        return cls(
            frame_type=MacFrameType(ftype),
            seq=seq,
            dst_pan=dst_pan,
            dst=dst,
            src_pan=src_pan,
            src=src,
            security=bool(fc & 0x08),
            frame_pending=bool(fc & 0x10),
            ack_request=bool(fc & 0x20),
            pan_id_compression=compression,
            frame_version=(fc >> 12) & 3,
        )


def add_fcs(frame: bytes) -> bytes:
    return frame + u16(crc16_kermit(frame))


def strip_fcs(frame: bytes) -> bytes:
    if len(frame) < 2 or crc16_kermit(frame[:-2]) != int.from_bytes(frame[-2:], "little"):
        raise FrameError("MAC FCS mismatch")
    return frame[:-2]


@dataclass(frozen=True)
class MacFrame:
    """Any MAC frame: header plus the MAC payload (for data frames, the NWK frame)."""

    header: MacHeader
    payload: bytes = b""

    def to_bytes(self, fcs: bool = False) -> bytes:
        out = self.header.to_bytes() + self.payload
        return add_fcs(out) if fcs else out

    @classmethod
    def from_bytes(cls, data: bytes, fcs: bool = False) -> MacFrame:
        if fcs:
            data = strip_fcs(data)
        r = Reader(data, "MAC frame")
        header = MacHeader.read(r)
        return cls(header, r.rest())


@dataclass(frozen=True)
class SuperframeSpec:
    beacon_order: int = 15
    superframe_order: int = 15
    final_cap_slot: int = 15
    battery_life_extension: bool = False
    pan_coordinator: bool = False
    association_permit: bool = False

    def to_int(self) -> int:
        return (
            (self.beacon_order & 15)
            | (self.superframe_order & 15) << 4
            | (self.final_cap_slot & 15) << 8
            | self.battery_life_extension << 12
            | self.pan_coordinator << 14
            | self.association_permit << 15
        )

    @classmethod
    def from_int(cls, v: int) -> SuperframeSpec:
        return cls(
            beacon_order=v & 15,
            superframe_order=(v >> 4) & 15,
            final_cap_slot=(v >> 8) & 15,
            battery_life_extension=bool(v & 0x1000),
            pan_coordinator=bool(v & 0x4000),
            association_permit=bool(v & 0x8000),
        )


ZIGBEE_BEACON_PAYLOAD_LENGTH = 15


@dataclass(frozen=True)
class ZigbeeBeaconPayload:
    """protocol id(1) stack profile/version(1) capacity/depth(1) extended PAN id(8, LSB
    first) tx offset(3) nwk update id(1)."""

    extended_pan_id: EUI64
    stack_profile: int = 2
    protocol_version: int = 2
    router_capacity: bool = True
    device_depth: int = 0
    end_device_capacity: bool = True
    tx_offset: int = 0xFFFFFF
    update_id: int = 0
    protocol_id: int = 0

    def to_bytes(self) -> bytes:
        b1 = (self.stack_profile & 15) | (self.protocol_version & 15) << 4
        b2 = (
            self.router_capacity << 2
            | (self.device_depth & 15) << 3
            | self.end_device_capacity << 7
        )
        return (
            u8(self.protocol_id)
            + u8(b1)
            + u8(b2)
            + self.extended_pan_id.le
            + u24(self.tx_offset)
            + u8(self.update_id)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ZigbeeBeaconPayload:
        r = Reader(data, "Zigbee beacon payload")
        pid, b1, b2 = r.u8(), r.u8(), r.u8()
        epid = r.eui64()
        tx_offset = r.u24()
        update_id = r.u8()
        r.done()
        return cls(
            extended_pan_id=epid,
            stack_profile=b1 & 15,
            protocol_version=b1 >> 4,
            router_capacity=bool(b2 & 0x04),
            device_depth=(b2 >> 3) & 15,
            end_device_capacity=bool(b2 & 0x80),
            tx_offset=tx_offset,
            update_id=update_id,
            protocol_id=pid,
        )


@dataclass(frozen=True)
class BeaconFrame:
    seq: int
    src_pan: int
    src: int | EUI64
    superframe: SuperframeSpec
    payload: ZigbeeBeaconPayload | bytes = b""
    gts_permit: bool = False
    gts_fields: bytes = b""  # GTS directions and descriptors, kept raw (none in Zigbee PANs)
    gts_count: int = 0
    pending_short: tuple[int, ...] = ()
    pending_long: tuple[EUI64, ...] = ()

    def to_bytes(self, fcs: bool = False) -> bytes:
        header = MacHeader(MacFrameType.BEACON, self.seq, src_pan=self.src_pan, src=self.src)
        if len(self.pending_short) > 7 or len(self.pending_long) > 7:
            raise ValueError("at most 7 pending addresses of each kind")
        body = u16(self.superframe.to_int())
        body += u8((self.gts_count & 7) | self.gts_permit << 7) + self.gts_fields
        body += u8(len(self.pending_short) | len(self.pending_long) << 4)
        body += b"".join(u16(a) for a in self.pending_short)
        body += b"".join(a.le for a in self.pending_long)
        payload = (
            self.payload.to_bytes()
            if isinstance(self.payload, ZigbeeBeaconPayload)
            else self.payload
        )
        out = header.to_bytes() + body + payload
        return add_fcs(out) if fcs else out

    @classmethod
    def from_mac(cls, frame: MacFrame) -> BeaconFrame:
        h = frame.header
        if h.frame_type != MacFrameType.BEACON:
            raise FrameError("not a beacon frame")
        if h.src is None or h.src_pan is None:
            raise FrameError("beacon without source address")
        r = Reader(frame.payload, "beacon")
        superframe = SuperframeSpec.from_int(r.u16())
        gts = r.u8()
        count = gts & 7
        gts_fields = r.take(1 + 3 * count) if count else b""
        pend = r.u8()
        shorts = tuple(r.u16() for _ in range(pend & 7))
        longs = tuple(r.eui64() for _ in range((pend >> 4) & 7))
        rest = r.rest()
        payload: ZigbeeBeaconPayload | bytes = rest
        if len(rest) == ZIGBEE_BEACON_PAYLOAD_LENGTH and rest[0] == 0:
            payload = ZigbeeBeaconPayload.from_bytes(rest)
        return cls(
            seq=h.seq,
            src_pan=h.src_pan,
            src=h.src,
            superframe=superframe,
            payload=payload,
            gts_permit=bool(gts & 0x80),
            gts_fields=gts_fields,
            gts_count=count,
            pending_short=shorts,
            pending_long=longs,
        )

    @classmethod
    def from_bytes(cls, data: bytes, fcs: bool = False) -> BeaconFrame:
        return cls.from_mac(MacFrame.from_bytes(data, fcs=fcs))

    @property
    def extended_pan_id(self) -> EUI64 | None:
        if isinstance(self.payload, ZigbeeBeaconPayload):
            return self.payload.extended_pan_id
        return None


def beacon_request(seq: int) -> bytes:
    """MAC command 0x07 Beacon Request, broadcast on the broadcast PAN."""
    header = MacHeader(MacFrameType.COMMAND, seq, dst_pan=BROADCAST_PAN, dst=BROADCAST_SHORT)
    return header.to_bytes() + b"\x07"


class MacCommandId(IntEnum):
    """802.15.4 MAC command frame identifiers (the first octet of the MAC payload)."""

    ASSOCIATION_REQUEST = 0x01
    ASSOCIATION_RESPONSE = 0x02
    DISASSOCIATION_NOTIFICATION = 0x03
    DATA_REQUEST = 0x04
    PAN_ID_CONFLICT = 0x05
    ORPHAN_NOTIFICATION = 0x06
    BEACON_REQUEST = 0x07
    COORDINATOR_REALIGNMENT = 0x08


class AssociationStatus(IntEnum):
    SUCCESS = 0x00
    PAN_AT_CAPACITY = 0x01
    PAN_ACCESS_DENIED = 0x02


@dataclass(frozen=True)
class CapabilityInfo:
    """Capability information (802.15.4 7.3.1.2; also in the ZDO Device Announce): bit 0
    alternate PAN coordinator, 1 device type (1 = FFD, a router), 2 power source (1 =
    mains), 3 receiver on when idle, 4-5 reserved, 6 security capability, 7 allocate
    address."""

    alternate_pan_coordinator: bool = False
    full_function_device: bool = False
    mains_powered: bool = False
    receiver_on_when_idle: bool = False
    security: bool = False
    allocate_address: bool = True

    def to_int(self) -> int:
        return (
            self.alternate_pan_coordinator
            | self.full_function_device << 1
            | self.mains_powered << 2
            | self.receiver_on_when_idle << 3
            | self.security << 6
            | self.allocate_address << 7
        )

    @classmethod
    def from_int(cls, v: int) -> CapabilityInfo:
        if not 0 <= v <= 0xFF:
            raise FrameError(f"capability information out of range: {v}")
        return cls(
            alternate_pan_coordinator=bool(v & 0x01),
            full_function_device=bool(v & 0x02),
            mains_powered=bool(v & 0x04),
            receiver_on_when_idle=bool(v & 0x08),
            security=bool(v & 0x40),
            allocate_address=bool(v & 0x80),
        )


@dataclass(frozen=True)
class MacCommand:
    """A MAC command frame: header, command identifier and its fields (raw octets)."""

    header: MacHeader
    command_id: int
    fields: bytes = b""

    def to_bytes(self, fcs: bool = False) -> bytes:
        return MacFrame(self.header, u8(self.command_id) + self.fields).to_bytes(fcs)

    @classmethod
    def from_mac(cls, frame: MacFrame) -> MacCommand:
        if frame.header.frame_type != MacFrameType.COMMAND:
            raise FrameError(f"not a MAC command frame ({frame.header.frame_type.name})")
        r = Reader(frame.payload, "MAC command")
        return cls(frame.header, r.u8(), r.rest())

    @classmethod
    def from_bytes(cls, data: bytes, fcs: bool = False) -> MacCommand:
        return cls.from_mac(MacFrame.from_bytes(data, fcs=fcs))


def _command_fields(command: MacCommand, expected: MacCommandId, length: int) -> Reader:
    if command.command_id != expected:
        raise FrameError(
            f"MAC command 0x{command.command_id:02X} is not {expected.name} (0x{expected:02X})"
        )
    if len(command.fields) != length:
        raise FrameError(
            f"MAC {expected.name} has {len(command.fields)} octets of fields, not {length}"
        )
    return Reader(command.fields, f"MAC {expected.name}")


@dataclass(frozen=True)
class AssociationRequest:
    """Association Request (command 0x01): sent by the joining device from its extended
    address (source PAN 0xFFFF) to the coordinator it picked from the beacons; the only
    field is its capability information."""

    seq: int
    pan: int  # the PAN to join
    coordinator: int | EUI64
    device: EUI64
    capability: CapabilityInfo

    def command(self) -> MacCommand:
        header = MacHeader(
            MacFrameType.COMMAND,
            self.seq,
            dst_pan=self.pan,
            dst=self.coordinator,
            src_pan=BROADCAST_PAN,
            src=self.device,
            ack_request=True,
        )
        return MacCommand(header, MacCommandId.ASSOCIATION_REQUEST, u8(self.capability.to_int()))

    def to_bytes(self, fcs: bool = False) -> bytes:
        return self.command().to_bytes(fcs)

    @classmethod
    def from_command(cls, command: MacCommand) -> AssociationRequest:
        r = _command_fields(command, MacCommandId.ASSOCIATION_REQUEST, 1)
        h = command.header
        if not isinstance(h.src, EUI64):
            raise FrameError("Association Request needs an extended source address")
        if h.dst is None or h.dst_pan is None:
            raise FrameError("Association Request needs a destination address")
        return cls(h.seq, h.dst_pan, h.dst, h.src, CapabilityInfo.from_int(r.u8()))

    @classmethod
    def from_bytes(cls, data: bytes, fcs: bool = False) -> AssociationRequest:
        return cls.from_command(MacCommand.from_bytes(data, fcs=fcs))


@dataclass(frozen=True)
class AssociationResponse:
    """Association Response (command 0x02): from the coordinator's extended address to
    the device's, PAN ID compressed; fields: the short address allocated (0xFFFE: none,
    use the extended address; 0xFFFF on failure) and the status."""

    seq: int
    pan: int
    coordinator: EUI64
    device: EUI64
    short_address: int
    status: AssociationStatus = AssociationStatus.SUCCESS

    def command(self) -> MacCommand:
        header = MacHeader(
            MacFrameType.COMMAND,
            self.seq,
            dst_pan=self.pan,
            dst=self.device,
            src_pan=self.pan,
            src=self.coordinator,
            ack_request=True,
            pan_id_compression=True,
        )
        fields = u16(self.short_address) + u8(int(self.status))
        return MacCommand(header, MacCommandId.ASSOCIATION_RESPONSE, fields)

    def to_bytes(self, fcs: bool = False) -> bytes:
        return self.command().to_bytes(fcs)

    @classmethod
    def from_command(cls, command: MacCommand) -> AssociationResponse:
        r = _command_fields(command, MacCommandId.ASSOCIATION_RESPONSE, 3)
        h = command.header
        if not isinstance(h.src, EUI64) or not isinstance(h.dst, EUI64) or h.dst_pan is None:
            raise FrameError("Association Response needs extended source and destination")
        short, status = r.u16(), r.u8()
        try:
            status_value = AssociationStatus(status)
        except ValueError:
            raise FrameError(f"unknown association status 0x{status:02X}") from None
        return cls(h.seq, h.dst_pan, h.src, h.dst, short, status_value)

    @classmethod
    def from_bytes(cls, data: bytes, fcs: bool = False) -> AssociationResponse:
        return cls.from_command(MacCommand.from_bytes(data, fcs=fcs))


@dataclass(frozen=True)
class DataRequest:
    """Data Request (command 0x04, no fields): a device polls its coordinator for frames
    held for it.  Right after an Association Request the source is the extended address."""

    seq: int
    pan: int
    coordinator: int | EUI64
    device: int | EUI64

    def command(self) -> MacCommand:
        header = MacHeader(
            MacFrameType.COMMAND,
            self.seq,
            dst_pan=self.pan,
            dst=self.coordinator,
            src_pan=self.pan,
            src=self.device,
            ack_request=True,
            pan_id_compression=True,
        )
        return MacCommand(header, MacCommandId.DATA_REQUEST)

    def to_bytes(self, fcs: bool = False) -> bytes:
        return self.command().to_bytes(fcs)

    @classmethod
    def from_command(cls, command: MacCommand) -> DataRequest:
        _command_fields(command, MacCommandId.DATA_REQUEST, 0)
        h = command.header
        if h.dst is None or h.src is None or h.dst_pan is None:
            raise FrameError("Data Request needs source and destination addresses")
        return cls(h.seq, h.dst_pan, h.dst, h.src)

    @classmethod
    def from_bytes(cls, data: bytes, fcs: bool = False) -> DataRequest:
        return cls.from_command(MacCommand.from_bytes(data, fcs=fcs))


def data_frame(
    seq: int,
    *,
    pan: int,
    dst: int | EUI64,
    src: int | EUI64,
    payload: bytes,
    ack_request: bool | None = None,
) -> MacFrame:
    """A MAC data frame within ``pan`` (PAN ID compressed), short or extended addresses.
    Acknowledgement is requested for unicasts unless ``ack_request`` says otherwise."""
    if ack_request is None:
        ack_request = dst != BROADCAST_SHORT
    header = MacHeader(
        MacFrameType.DATA,
        seq,
        dst_pan=pan,
        dst=dst,
        src_pan=pan,
        src=src,
        ack_request=ack_request,
        pan_id_compression=True,
    )
    return MacFrame(header, payload)


def read_data_frame(data: bytes, fcs: bool = False) -> MacFrame:
    """A MAC data frame with both addresses (the NWK frame is its payload)."""
    frame = MacFrame.from_bytes(data, fcs=fcs)
    h = frame.header
    if h.frame_type != MacFrameType.DATA:
        raise FrameError(f"not a MAC data frame ({h.frame_type.name})")
    if h.dst is None or h.src is None:
        raise FrameError("MAC data frame without source or destination address")
    return frame
