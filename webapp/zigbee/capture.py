"""Captures of the 802.15.4 frames the HHT sends and hears, as pcapng files Wireshark opens.

A capture is one pcapng section: a Section Header Block (its comment is the capture's
description, its ``shb_userappl`` names the HHT), one Interface Description Block of link
type 283, ``LINKTYPE_IEEE802_15_4_TAP``, with microsecond timestamps, and one Enhanced
Packet Block per frame.  Every packet is a TAP header followed by the PSDU (the MAC frame
and its 16-bit FCS).  The TAP header's TLVs say that the frame ends in a 16-bit FCS, the
signal strength (RSS, dBm, a 32-bit float; only for frames heard) and the channel (number
and page: page 0 for 2.4 GHz, page 28 for the 868 MHz channels of GB smart metering).  An
EPB may carry a comment (``opt_comment``) and says the frame's direction (``epb_flags``).

Each frame is written with one ``write`` call: a crash leaves a file that reads up to its
last whole block (``durable=True`` also syncs each block to the disk, for pulled plugs).
Captures are created owner-only and never replace an existing file: reconstructed frames
can hold decrypted payloads.

:func:`write_keys_file` writes the keys Wireshark needs to decrypt a capture (its ZigBee
"Pre-configured Keys" preference); :func:`read_capture` reads back the files written here.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from webapp.files import write_private
from webapp.zigbee.drivers.base import BAND_2_4_GHZ, BAND_868_MHZ
from webapp.zigbee.frames.mac import add_fcs, crc16_kermit

log = logging.getLogger(__name__)

# pcapng (draft-ietf-opsawg-pcapng): block types, magic numbers and option codes.
BLOCK_SECTION_HEADER = 0x0A0D0D0A
BLOCK_INTERFACE_DESCRIPTION = 0x00000001
BLOCK_ENHANCED_PACKET = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
PCAPNG_MAJOR, PCAPNG_MINOR = 1, 0
SECTION_LENGTH_UNSPECIFIED = -1
OPT_ENDOFOPT = 0
OPT_COMMENT = 1
SHB_USERAPPL = 4
IF_NAME = 2
IF_DESCRIPTION = 3
IF_TSRESOL = 9
EPB_FLAGS = 2
EPB_DIRECTION_MASK = 0b11
EPB_INBOUND = 0b01
EPB_OUTBOUND = 0b10
TSRESOL_MICROSECONDS = 6  # 10^-6 s: the default, written out anyway
SNAPLEN_UNLIMITED = 0
MAX_OPTION_VALUE = 0xFFFF
LINKTYPE_IEEE802_15_4_TAP = 283
CLASSIC_PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1")

# The 802.15.4 TAP header (Wireshark's packet-ieee802154.c): version 0, a reserved octet,
# the header's length including its TLVs, then TLVs of type(2) length(2) value padded to 4.
TAP_VERSION = 0
TAP_TLV_FCS_TYPE = 0  # one octet: 0 none, 1 16-bit ITU-T CRC, 2 32-bit
TAP_TLV_RSS = 1  # float32, dBm
TAP_TLV_CHANNEL = 3  # channel number (2 octets), channel page (1 octet)
TAP_FCS_16_BIT = 1

MAX_PSDU = 127  # aMaxPhyPacketSize
FCS_LENGTH = 2
TIME_UNITS_PER_SECOND = 1_000_000
MAX_TIME = (1 << 64) / TIME_UNITS_PER_SECOND  # the EPB's 64-bit timestamp

PAGE_2_4_GHZ = 0
PAGE_GB_868_MHZ = 28  # Zigbee sub-GHz page 28: 863-876 MHz, channels 0-26
BAND_PAGES = {BAND_2_4_GHZ: PAGE_2_4_GHZ, BAND_868_MHZ: PAGE_GB_868_MHZ}

APPLICATION = "HHT (smart-meter installer's hand-held terminal) 802.15.4 capture"
INTERFACE_NAME = "hht-zigbee"
RECONSTRUCTED_COMMENT = "reconstructed: the stick handed this frame over already decrypted"
ZIGBEE_KEY_LENGTH = 16
CAPTURE_FILE_MODE = 0o600

Direction = Literal["in", "out"]
_DIRECTION_FLAGS: dict[str, int] = {"in": EPB_INBOUND, "out": EPB_OUTBOUND}
_FLAG_DIRECTIONS: dict[int, Direction] = {EPB_INBOUND: "in", EPB_OUTBOUND: "out"}

_BLOCK_HEAD = struct.Struct("<II")
_U32 = struct.Struct("<I")
_SHB_HEAD = struct.Struct("<IHHq")
_IDB_HEAD = struct.Struct("<HHI")
_EPB_HEAD = struct.Struct("<IIIII")
_OPTION_HEAD = struct.Struct("<HH")
_TAP_HEAD = struct.Struct("<BBH")
_TLV_FCS = struct.Struct("<HHB3x")
_TLV_RSS = struct.Struct("<HHf")
_TLV_CHANNEL = struct.Struct("<HHHBx")
_TLV_HEAD = struct.Struct("<HH")
_CHANNEL_VALUE = struct.Struct("<HB")
_RSS_VALUE = struct.Struct("<f")
_TLV_VALUE_LENGTHS = {TAP_TLV_FCS_TYPE: 1, TAP_TLV_RSS: 4, TAP_TLV_CHANNEL: 3}


class CaptureError(Exception):
    """A capture file that cannot be written, or is not one this module wrote."""


class CaptureFormatError(CaptureError, ValueError):
    """A file that is not (or no longer) a capture written by this module."""


def page_for_band(band: str) -> int:
    """The channel page of a radio band (``BAND_2_4_GHZ`` or ``BAND_868_MHZ``)."""
    try:
        return BAND_PAGES[band]
    except KeyError:
        raise ValueError(f"no channel page known for band {band!r}") from None


def _pad(length: int) -> bytes:
    return b"\0" * (-length % 4)


def _option(code: int, value: bytes) -> bytes:
    if len(value) > MAX_OPTION_VALUE:
        raise ValueError(f"pcapng option {code} of {len(value)} octets is over {MAX_OPTION_VALUE}")
    return _OPTION_HEAD.pack(code, len(value)) + value + _pad(len(value))


def _options(*options: bytes) -> bytes:
    return b"".join(options) + _OPTION_HEAD.pack(OPT_ENDOFOPT, 0)


def _block(block_type: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return _BLOCK_HEAD.pack(block_type, total) + body + _U32.pack(total)


def _section_header(description: str) -> bytes:
    body = _SHB_HEAD.pack(
        BYTE_ORDER_MAGIC, PCAPNG_MAJOR, PCAPNG_MINOR, SECTION_LENGTH_UNSPECIFIED
    ) + _options(
        _option(OPT_COMMENT, description.encode()),
        _option(SHB_USERAPPL, APPLICATION.encode()),
    )
    return _block(BLOCK_SECTION_HEADER, body)


def _interface_description(description: str) -> bytes:
    body = _IDB_HEAD.pack(LINKTYPE_IEEE802_15_4_TAP, 0, SNAPLEN_UNLIMITED) + _options(
        _option(IF_NAME, INTERFACE_NAME.encode()),
        _option(IF_DESCRIPTION, description.encode()),
        _option(IF_TSRESOL, bytes([TSRESOL_MICROSECONDS])),
    )
    return _block(BLOCK_INTERFACE_DESCRIPTION, body)


def _tap_header(channel: int, page: int, rssi: float | None) -> bytes:
    tlvs = _TLV_FCS.pack(TAP_TLV_FCS_TYPE, _TLV_VALUE_LENGTHS[TAP_TLV_FCS_TYPE], TAP_FCS_16_BIT)
    if rssi is not None:
        tlvs += _TLV_RSS.pack(TAP_TLV_RSS, _TLV_VALUE_LENGTHS[TAP_TLV_RSS], rssi)
    tlvs += _TLV_CHANNEL.pack(TAP_TLV_CHANNEL, _TLV_VALUE_LENGTHS[TAP_TLV_CHANNEL], channel, page)
    return _TAP_HEAD.pack(TAP_VERSION, 0, _TAP_HEAD.size + len(tlvs)) + tlvs


def _psdu(frame: bytes, fcs: bool) -> bytes:
    frame = bytes(frame)
    minimum = FCS_LENGTH + 1 if fcs else 1
    if len(frame) < minimum:
        raise ValueError(f"a {len(frame)}-octet frame holds no MAC frame")
    psdu = frame if fcs else add_fcs(frame)
    if len(psdu) > MAX_PSDU:
        raise ValueError(
            f"frame of {len(psdu)} octets with its FCS is over the {MAX_PSDU}-octet "
            "802.15.4 PSDU limit"
        )
    return psdu


def _check_record(at: float, channel: int, page: int, rssi: float | None, direction: str) -> None:
    if not math.isfinite(at) or not 0 <= at < MAX_TIME:
        raise ValueError(f"capture time must be a Unix time in seconds, not {at!r}")
    if not 0 <= channel <= 0xFFFF:
        raise ValueError(f"channel {channel} does not fit the TAP channel field (0-65535)")
    if not 0 <= page <= 0xFF:
        raise ValueError(f"channel page {page} does not fit the TAP page field (0-255)")
    if rssi is not None and not math.isfinite(rssi):
        raise ValueError(f"RSS must be a finite number of dBm, not {rssi!r}")
    if direction not in _DIRECTION_FLAGS:
        raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")


class Capture:
    """An open capture file: :meth:`record` appends one frame, :meth:`close` ends it.

    Safe to share between threads: each frame is written whole, under a lock.
    """

    def __init__(self, path: Path, fd: int, *, durable: bool) -> None:
        self.path = path
        self._fd: int | None = fd
        self._durable = durable
        self._size = 0
        self._lock = threading.Lock()
        self.frames = 0

    @classmethod
    def open(cls, path: Path, *, description: str, durable: bool = False) -> Capture:
        """Create ``path`` (refused when it exists) and write the section and interface.

        ``durable`` syncs every block to the disk (slower; survives a power cut).
        """
        path = Path(path)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, CAPTURE_FILE_MODE)
        except OSError as exc:
            raise CaptureError(f"cannot create capture file {path}: {exc.strerror}") from exc
        capture = cls(path, fd, durable=durable)
        try:
            capture._append(_section_header(description) + _interface_description(description))
        except BaseException:
            capture.close()
            path.unlink(missing_ok=True)
            raise
        log.info("capture started: %s (%s)", path, description)
        return capture

    def record(
        self,
        frame: bytes,
        *,
        at: float,
        channel: int,
        page: int = PAGE_2_4_GHZ,
        rssi: float | None = None,
        direction: Direction = "out",
        comment: str | None = None,
        fcs: bool = False,
    ) -> None:
        """Append one frame: ``frame`` is the MAC frame without its FCS (the FCS is added
        here) unless ``fcs``; ``at`` is a Unix time in seconds (kept to the microsecond)."""
        _check_record(at, channel, page, rssi, direction)
        packet = _tap_header(channel, page, rssi) + _psdu(frame, fcs)
        options = []
        if comment is not None:
            options.append(_option(OPT_COMMENT, comment.encode()))
        options.append(_option(EPB_FLAGS, _U32.pack(_DIRECTION_FLAGS[direction])))
        stamp = round(at * TIME_UNITS_PER_SECOND)
        body = (
            _EPB_HEAD.pack(0, stamp >> 32, stamp & 0xFFFFFFFF, len(packet), len(packet))
            + packet
            + _pad(len(packet))
            + _options(*options)
        )
        self._append(_block(BLOCK_ENHANCED_PACKET, body), frames=1)

    def _append(self, block: bytes, *, frames: int = 0) -> None:
        with self._lock:
            if self._fd is None:
                raise CaptureError(f"capture {self.path} is closed")
            try:
                written = 0
                while written < len(block):
                    written += os.write(self._fd, block[written:])
                if self._durable:
                    os.fsync(self._fd)
            except OSError as exc:
                self._undo_partial_block()
                raise CaptureError(f"cannot write to capture {self.path}: {exc}") from exc
            self._size += len(block)
            self.frames += frames

    def _undo_partial_block(self) -> None:
        """Cut a half-written block off, so the file stays whole; close it if that fails."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self._size)
            os.lseek(self._fd, self._size, os.SEEK_SET)
        except OSError:
            log.exception("capture %s: cannot cut off a partial block; closing it", self.path)
            os.close(self._fd)
            self._fd = None

    @property
    def closed(self) -> bool:
        return self._fd is None

    def close(self) -> None:
        with self._lock:
            if self._fd is None:
                return
            fd, self._fd = self._fd, None
            try:
                os.fsync(fd)
            except OSError:
                log.warning("capture %s: could not sync on close", self.path)
            finally:
                os.close(fd)
        log.info("capture closed: %s (%d frames)", self.path, self.frames)

    def __enter__(self) -> Capture:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def write_keys_file(path: Path, keys: Iterable[bytes]) -> None:
    """Write ``keys`` one a line in upper-case hex, owner-only, for Wireshark's ZigBee
    "Pre-configured Keys" preference (duplicates dropped, order kept)."""
    lines: list[str] = []
    for key in keys:
        key = bytes(key)
        if len(key) != ZIGBEE_KEY_LENGTH:
            raise ValueError(f"a Zigbee key has {ZIGBEE_KEY_LENGTH} octets, not {len(key)}")
        lines.append(key.hex().upper())
    text = "".join(f"{line}\n" for line in dict.fromkeys(lines))
    write_private(Path(path), text.encode("ascii"))


# Reading back ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CapturedFrame:
    """One frame read back: ``psdu`` is the MAC frame and its FCS, as on the air."""

    psdu: bytes
    at: float
    channel: int | None
    page: int | None
    rssi: float | None
    direction: Direction | None
    comment: str | None

    @property
    def frame(self) -> bytes:
        """The MAC frame without its FCS."""
        return self.psdu[:-FCS_LENGTH]

    @property
    def fcs_ok(self) -> bool:
        fcs = int.from_bytes(self.psdu[-FCS_LENGTH:], "little")
        return crc16_kermit(self.frame) == fcs


@dataclass(frozen=True)
class CaptureContents:
    description: str | None
    application: str | None
    frames: list[CapturedFrame]
    truncated: bool  # the file ends part-way through a block (a crash while writing)


@dataclass(frozen=True)
class _Interface:
    units_per_second: int


def read_capture(path: Path) -> list[CapturedFrame]:
    """The frames of a capture this module wrote, up to its last whole block."""
    return inspect_capture(path).frames


def inspect_capture(path: Path) -> CaptureContents:
    path = Path(path)
    data = path.read_bytes()
    _check_section_start(path, data)
    description = application = None
    interfaces: list[_Interface] = []
    frames: list[CapturedFrame] = []
    truncated = False
    for offset, block_type, body in _blocks(path, data):
        if body is None:
            truncated = True
            log.warning("capture %s: cut short in a block at offset %d", path, offset)
            break
        if block_type == BLOCK_SECTION_HEADER:
            if offset:
                raise CaptureFormatError(f"{path}: a second pcapng section at offset {offset}")
            options = dict(_read_options(path, body, _SHB_HEAD.size))
            description = _text(options.get(OPT_COMMENT))
            application = _text(options.get(SHB_USERAPPL))
        elif block_type == BLOCK_INTERFACE_DESCRIPTION:
            interfaces.append(_read_interface(path, body))
        elif block_type == BLOCK_ENHANCED_PACKET:
            frames.append(_read_packet(path, body, offset, interfaces))
        else:
            log.debug("capture %s: block type %#x skipped", path, block_type)
    return CaptureContents(description, application, frames, truncated)


def _check_section_start(path: Path, data: bytes) -> None:
    if data[:4] in CLASSIC_PCAP_MAGICS:
        raise CaptureFormatError(f"{path} is a classic pcap file, not an HHT pcapng capture")
    if len(data) < 12 or _U32.unpack_from(data)[0] != BLOCK_SECTION_HEADER:
        raise CaptureFormatError(f"{path} is not a pcapng file (no section header block)")
    magic = data[8:12]
    if magic == BYTE_ORDER_MAGIC.to_bytes(4, "big"):
        raise CaptureFormatError(f"{path} is big-endian pcapng, which this module never writes")
    if magic != BYTE_ORDER_MAGIC.to_bytes(4, "little"):
        raise CaptureFormatError(f"{path} is not a pcapng file (bad byte-order magic)")
    if len(data) >= 14 and data[12:14] != PCAPNG_MAJOR.to_bytes(2, "little"):
        raise CaptureFormatError(f"{path}: pcapng major version is not {PCAPNG_MAJOR}")


def _blocks(path: Path, data: bytes) -> Iterator[tuple[int, int, bytes | None]]:
    """(offset, type, body) per block; body None for a cut-short tail (then stop)."""
    offset = 0
    while offset < len(data):
        rest = len(data) - offset
        if rest < 12:
            yield offset, 0, None
            return
        block_type, total = _BLOCK_HEAD.unpack_from(data, offset)
        if total < 12 or total % 4:
            if not any(data[offset:]):  # zeros past the end: the file system's, not ours
                yield offset, 0, None
                return
            raise CaptureFormatError(f"{path}: bad block length {total} at offset {offset}")
        if total > rest:
            yield offset, block_type, None
            return
        if _U32.unpack_from(data, offset + total - 4)[0] != total:
            raise CaptureFormatError(f"{path}: block at offset {offset} has mismatched lengths")
        yield offset, block_type, data[offset + 8 : offset + total - 4]
        offset += total


def _read_options(path: Path, body: bytes, start: int) -> Iterator[tuple[int, bytes]]:
    offset = start
    while offset + _OPTION_HEAD.size <= len(body):
        code, length = _OPTION_HEAD.unpack_from(body, offset)
        offset += _OPTION_HEAD.size
        if code == OPT_ENDOFOPT:
            return
        if offset + length > len(body):
            raise CaptureFormatError(f"{path}: option {code} runs past its block")
        yield code, body[offset : offset + length]
        offset += length + (-length % 4)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", errors="replace")


def _read_interface(path: Path, body: bytes) -> _Interface:
    if len(body) < _IDB_HEAD.size:
        raise CaptureFormatError(f"{path}: interface description block too short")
    link_type, _, _ = _IDB_HEAD.unpack_from(body)
    if link_type != LINKTYPE_IEEE802_15_4_TAP:
        raise CaptureFormatError(
            f"{path}: link type {link_type}, not IEEE 802.15.4 TAP ({LINKTYPE_IEEE802_15_4_TAP})"
        )
    resolution = dict(_read_options(path, body, _IDB_HEAD.size)).get(IF_TSRESOL)
    exponent = resolution[0] if resolution else TSRESOL_MICROSECONDS
    if exponent & 0x80:
        raise CaptureFormatError(f"{path}: binary timestamp resolution {exponent:#x} unsupported")
    return _Interface(units_per_second=10**exponent)


def _read_packet(
    path: Path, body: bytes, offset: int, interfaces: list[_Interface]
) -> CapturedFrame:
    if len(body) < _EPB_HEAD.size:
        raise CaptureFormatError(f"{path}: packet block at offset {offset} too short")
    interface_id, high, low, captured, _ = _EPB_HEAD.unpack_from(body)
    if interface_id >= len(interfaces):
        raise CaptureFormatError(f"{path}: packet at offset {offset} names no interface")
    packet = body[_EPB_HEAD.size : _EPB_HEAD.size + captured]
    if len(packet) != captured:
        raise CaptureFormatError(f"{path}: packet at offset {offset} runs past its block")
    options = dict(_read_options(path, body, _EPB_HEAD.size + captured + (-captured % 4)))
    flags = options.get(EPB_FLAGS)
    direction = _FLAG_DIRECTIONS.get(_U32.unpack(flags)[0] & EPB_DIRECTION_MASK) if flags else None
    tlvs, psdu = _split_tap(path, packet, offset)
    if TAP_TLV_FCS_TYPE not in tlvs or tlvs[TAP_TLV_FCS_TYPE][0] != TAP_FCS_16_BIT:
        raise CaptureFormatError(f"{path}: packet at offset {offset} lacks a 16-bit FCS")
    channel = page = rssi = None
    if TAP_TLV_CHANNEL in tlvs:
        channel, page = _CHANNEL_VALUE.unpack(tlvs[TAP_TLV_CHANNEL])
    if TAP_TLV_RSS in tlvs:
        (rssi,) = _RSS_VALUE.unpack(tlvs[TAP_TLV_RSS])
    return CapturedFrame(
        psdu=psdu,
        at=((high << 32) | low) / interfaces[interface_id].units_per_second,
        channel=channel,
        page=page,
        rssi=rssi,
        direction=direction,
        comment=_text(options.get(OPT_COMMENT)),
    )


def _split_tap(path: Path, packet: bytes, offset: int) -> tuple[dict[int, bytes], bytes]:
    if len(packet) < _TAP_HEAD.size:
        raise CaptureFormatError(f"{path}: packet at offset {offset} has no TAP header")
    version, _, length = _TAP_HEAD.unpack_from(packet)
    if version != TAP_VERSION or not _TAP_HEAD.size <= length <= len(packet):
        raise CaptureFormatError(f"{path}: packet at offset {offset} has a bad TAP header")
    tlvs: dict[int, bytes] = {}
    at = _TAP_HEAD.size
    while at + _TLV_HEAD.size <= length:
        tlv_type, tlv_length = _TLV_HEAD.unpack_from(packet, at)
        at += _TLV_HEAD.size
        if at + tlv_length > length:
            raise CaptureFormatError(f"{path}: TAP TLV {tlv_type} at offset {offset} overruns")
        value = packet[at : at + tlv_length]
        if tlv_type in _TLV_VALUE_LENGTHS and len(value) != _TLV_VALUE_LENGTHS[tlv_type]:
            raise CaptureFormatError(f"{path}: TAP TLV {tlv_type} at offset {offset} misfits")
        tlvs[tlv_type] = value
        at += tlv_length + (-tlv_length % 4)
    psdu = packet[length:]
    if not FCS_LENGTH < len(psdu) <= MAX_PSDU:
        raise CaptureFormatError(f"{path}: packet at offset {offset} holds {len(psdu)} octets")
    return tlvs, psdu


def merge_captures(parts: Iterable[Path], out: Path, *, description: str) -> int:
    """Write the frames of the captures ``parts``, in order, into one new capture ``out``;
    the number of frames.  A part cut short by a pulled plug gives what it holds."""
    frames = 0
    with Capture.open(out, description=description) as merged:
        for part in parts:
            for frame in read_capture(part):
                merged.record(
                    frame.psdu,
                    at=frame.at,
                    channel=frame.channel or 0,
                    page=frame.page or 0,
                    rssi=frame.rssi,
                    direction=frame.direction or "out",
                    comment=frame.comment,
                    fcs=True,
                )
                frames += 1
    return frames
