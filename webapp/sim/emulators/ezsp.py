"""A Silicon Labs EZSP stick on a pseudo-terminal, bridged to the simulated hubs.

:class:`EzspEmulator` plays the NCP (network co-processor) end of a serial line: the host
(bellows, under :class:`webapp.zigbee.drivers.ezsp.radio.EzspRadio`) opens the slave side of a
pty as it would ``/dev/ttyUSB0``; the emulator answers on the master side, in the same
event loop, byte for byte as a stick would:

* ASH (UG101): frames end with the flag byte 0x7E; the reserved bytes 0x7E, 0x7D, 0x11,
  0x13, 0x18, 0x1A are sent as 0x7D then the byte XOR 0x20; CRC-CCITT (polynomial 0x1021,
  start 0xFFFF) over control and data, high byte first; the data field of DATA frames is
  XORed with the pseudo-random sequence that starts 0x42 (next: shift right, XOR 0xB8 when
  the bit shifted out was 1).  DATA frames carry a 3-bit frame number and the number of the
  next frame expected (ackNum); ACK and NAK carry ackNum; RST from the host is answered with
  RSTACK (version 2, reset code).  Received XON/XOFF pause and resume sending, CANCEL
  drops the frame in progress, SUBSTITUTE drops everything up to the next flag.  The
  emulator sends one DATA frame at a time, retransmits on a NAK or when no ACK comes, and
  NAKs a bad or out-of-sequence frame from the host once (until a good one arrives).
* EZSP (UG100): the ``version`` command in the legacy frame format (sequence, frame
  control, 1-octet frame id) first; once the host asks for this NCP's protocol version,
  the extended format (2-octet frame control with frame format version 1, 2-octet frame
  id).  Responses have frame control 0x80, asynchronous callbacks 0x90.  The commands bellows
  sends while connecting are answered, and those the ``ezsp`` driver uses.

Radio actions go to a :class:`SimFrameRadio`: ``startScan`` → its active scan, answered
with ``networkFoundHandler`` per beacon and ``scanCompleteHandler``; raw frames
(``sendRawMessage``/``sendRawMessageExtended``) → Inter-PAN frames on the simulated air;
Inter-PAN frames heard → ``macPassthroughMessageHandler`` (once the host enabled the SE
Inter-PAN passthrough); ``joinNetwork`` → its join, answered with ``stackStatusHandler``;
``sendUnicast``/``sendReply`` → APS frames, and APS frames from the hub →
``incomingMessageHandler``.

APS security: a ``sendUnicast``/``sendReply`` whose APS options carry
``APS_OPTION_ENCRYPTION`` (0x0020) goes APS-secured (``secure=True`` on the sim radio) under
the link key the radio holds for the hub, any other under network security only; a
frame from the hub that came APS-secured reaches the host with that option set.

Link keys: the key table holds ``key_table_size`` entries (EUI-64, key).  Up to EZSP v12
``addOrUpdateKeyTableEntry`` (0x0066: EUI-64, linkKey, key) writes the EUI-64's entry or
the first free one (EmberStatus TABLE_FULL when none is); from EZSP v12
``importLinkKey`` (0x010E: index, EUI-64, key; index 0xFF: the EUI-64's entry or the first
free one; sl_Status answers) and ``findKeyTableEntry`` (0x0075: EUI-64, linkKey; the index
or 0xFF).  As each version's command table has them: ``addOrUpdateKeyTableEntry`` is
unknown from v13, ``importLinkKey`` before v12.  A key the NCP takes is handed to the sim
radio (``install_link_key``) before any frame sent after it; a faulty firmware
(``apply_link_keys=False``) answers success and goes on securing with the join's
install-code key.

APS fragmentation as the EmberZNet host library drives it: each block is one
``sendUnicast`` with the FRAGMENT option and ``groupId`` = total blocks << 8 | block index;
the NCP gives the first block a fresh APS counter and later blocks the counter the host
passes; a block counts as delivered (``messageSentHandler`` success) when the receiver's
APS acknowledgement covers it.  Incoming blocks arrive the same way and the host
acknowledges them with ``sendReply`` (FRAGMENT, ``groupId`` = ack bitfield << 8 | first
block).

Test controls: :meth:`unplug` (the pty closes, the device link disappears) and
:meth:`replug` (a new pty under the same link), :meth:`inject_noise`,
:meth:`inject_truncated`, :attr:`corrupt_next` (bad CRC on the next DATA frames),
:attr:`reject_next` (NAK the host's next DATA frames as if damaged), :meth:`inject_ezsp`
(any EZSP frame, well formed or not), and firmware without Inter-PAN or without the CBKE
283k1 library.

The CBKE 283k1 library is played NCP-side with the project's own CBKE code: with
``ncp_credentials`` (an installed certificate and its private key) ``getCertificate283k1``
gives that certificate, ``generateCbkeKeys283k1`` makes an ephemeral key pair (callback
``generateCbkeKeysHandler283k1``), ``calculateSmacs283k1`` runs ECMQV against the partner's
certificate and ephemeral key and reports MACU and MACV (callback
``calculateSmacsHandler283k1``), and ``clearTemporaryDataMaybeStoreLinkKey283k1`` keeps the
agreed key in :attr:`EzspEmulator.cbke_link_keys` (by partner) and in the key table, for
the radio to secure with, or drops it.  Without
credentials the certificate reads as all 0xFF (none installed) and ``calculateSmacs283k1``
is refused.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import logging
import os
import random
import tempfile
import tty
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from webapp.sim.radio import SimFrameRadio
from webapp.zigbee.cbke.certificate import CertificateError, parse_certificate
from webapp.zigbee.cbke.credentials import Credentials
from webapp.zigbee.cbke.curves import PointError
from webapp.zigbee.cbke.ecmqv import derive_keys, ecmqv, mac_u, mac_v
from webapp.zigbee.cbke.suites import SUITE_2
from webapp.zigbee.drivers.base import BAND_2_4_GHZ, ErrorCode, RadioError
from webapp.zigbee.frames.aps import (
    ApsFrame,
    ApsFrameType,
    ApsHeader,
    DeliveryMode,
    Fragmentation,
)
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.types import EUI64, FrameError, Reader, u8, u16, u32

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- ASH
FLAG = 0x7E
ESCAPE = 0x7D
XON = 0x11
XOFF = 0x13
SUBSTITUTE = 0x18
CANCEL = 0x1A
RESERVED = frozenset({FLAG, ESCAPE, XON, XOFF, SUBSTITUTE, CANCEL})
ESCAPE_XOR = 0x20
CRC_START = 0xFFFF
RANDOM_SEED = 0x42
RANDOM_XOR = 0xB8
CONTROL_RST = 0xC0
CONTROL_RSTACK = 0xC1
ACK_BITS = 0x80
NAK_BITS = 0xA0
ACK_NAK_MASK = 0xE0
ASH_VERSION = 0x02
RESET_SOFTWARE = 0x0B
FRAME_NUMBERS = 8
#: Seconds the NCP waits for the host to acknowledge a DATA frame before sending it again.
ACK_TIMEOUT_S = 0.3
MAX_TRANSMISSIONS = 6
MAX_FRAME_OCTETS = 256

# ---------------------------------------------------------------- EZSP
FC_RESPONSE = 0x80
FC_ASYNC_CALLBACK = 0x90
FC_HIGH_FORMAT_1 = 0x01
STACK_TYPE_MESH = 0x02

VERSION = 0x0000
GET_MFG_TOKEN = 0x000B
NETWORK_STATE = 0x0018
STACK_STATUS_HANDLER = 0x0019
START_SCAN = 0x001A
NETWORK_FOUND_HANDLER = 0x001B
SCAN_COMPLETE_HANDLER = 0x001C
JOIN_NETWORK = 0x001F
LEAVE_NETWORK = 0x0020
GET_EUI64 = 0x0026
GET_NODE_ID = 0x0027
SEND_UNICAST = 0x0034
SEND_REPLY = 0x0039
MESSAGE_SENT_HANDLER = 0x003F
INCOMING_MESSAGE_HANDLER = 0x0045
CUSTOM_FRAME = 0x0047
SEND_RAW_MESSAGE_EXTENDED = 0x0051
GET_CONFIGURATION_VALUE = 0x0052
SET_CONFIGURATION_VALUE = 0x0053
INVALID_COMMAND = 0x0058
SET_INITIAL_SECURITY_STATE = 0x0068
ADD_OR_UPDATE_KEY_TABLE_ENTRY = 0x0066
FIND_KEY_TABLE_ENTRY = 0x0075
IMPORT_LINK_KEY = 0x010E
SEND_RAW_MESSAGE = 0x0096
MAC_PASSTHROUGH_MESSAGE_HANDLER = 0x0097
RAW_TRANSMIT_COMPLETE_HANDLER = 0x0098
SET_RADIO_CHANNEL = 0x009A
GET_VALUE = 0x00AA
SET_VALUE = 0x00AB
DSA_VERIFY_283K1 = 0x00B0
GENERATE_CBKE_KEYS_283K1 = 0x00E8
CALCULATE_SMACS_283K1 = 0x00EA
GET_CERTIFICATE_283K1 = 0x00EC
SAVE_PREINSTALLED_CBKE_DATA_283K1 = 0x00ED
CLEAR_TEMPORARY_DATA_283K1 = 0x00EE
GENERATE_CBKE_KEYS_HANDLER_283K1 = 0x00E9
CALCULATE_SMACS_HANDLER_283K1 = 0x00EB
#: The CBKE 283k1 library's commands: unknown to firmware built without it.
CBKE_283K1_COMMANDS = frozenset(
    {
        DSA_VERIFY_283K1,
        GENERATE_CBKE_KEYS_283K1,
        CALCULATE_SMACS_283K1,
        GET_CERTIFICATE_283K1,
        SAVE_PREINSTALLED_CBKE_DATA_283K1,
        CLEAR_TEMPORARY_DATA_283K1,
    }
)
#: Commands only some EZSP versions have (as bellows' command tables say): (first, last).
VERSIONED_COMMANDS = {
    ADD_OR_UPDATE_KEY_TABLE_ENTRY: (4, 12),
    IMPORT_LINK_KEY: (12, 255),
}
#: The commands that put keys in the NCP: their parameters are kept for tests.
KEY_COMMANDS = frozenset(
    {
        ADD_OR_UPDATE_KEY_TABLE_ENTRY,
        FIND_KEY_TABLE_ENTRY,
        IMPORT_LINK_KEY,
        CLEAR_TEMPORARY_DATA_283K1,
    }
)

# EmberStatus
SUCCESS = 0x00
DELIVERY_FAILED = 0x66
INVALID_CALL = 0x70
NETWORK_UP = 0x90
NETWORK_DOWN = 0x91
JOIN_FAILED = 0x94
NO_BEACONS = 0xAB
NO_NETWORK_KEY_RECEIVED = 0xAD
TABLE_FULL = 0xB4
# sl_Status (four octets)
SL_OK = 0x0000
SL_FULL = 0x001C
SL_INVALID_INDEX = 0x0027
# EzspStatus
EZSP_ERROR_VERSION_NOT_SET = 0x30
EZSP_ERROR_INVALID_FRAME_ID = 0x31
EZSP_ERROR_INVALID_ID = 0x37

VALUE_MAC_PASSTHROUGH_FLAGS = 0x01
VALUE_VERSION_INFO = 0x11
MAC_PASSTHROUGH_SE_INTERPAN = 0x01
MFG_STRING = 0x01
MFG_BOARD_NAME = 0x02
MFG_TOKEN_OCTETS = 16
ACTIVE_SCAN = 0x01
NETWORK_STATUS_NONE = 0x00
NETWORK_STATUS_JOINED = 0x02
NOT_JOINED_NODE_ID = 0xFFFE
JOINED_NODE_ID = 0x4A31
HUB_NODE_ID = 0x0000
HAVE_PRECONFIGURED_KEY = 0x0100
STACK_PROFILE_PRO = 0x02
NO_INDEX = 0xFF
KEY_TABLE_ANY = 0xFF  # findKeyTableEntry's "none"; importLinkKey's "its entry, else free"
INCOMING_UNICAST = 0x00
INCOMING_MULTICAST = 0x02
INCOMING_BROADCAST = 0x04
APS_OPTION_ENCRYPTION = 0x0020
APS_OPTION_RETRY = 0x0040
APS_OPTION_FRAGMENT = 0x8000
CERTIFICATE_283K1_OCTETS = 74
PUBLIC_KEY_283K1_OCTETS = 37
SMAC_OCTETS = 16
CONFIGURATION_VALUE = 100
LINK_KEY_OCTETS = 16
KEY_TABLE_SIZE = 6
HUB_RSSI = -40
SUPPORTED_PROTOCOLS = range(8, 14)  # the command layouts below are those of EZSP v8..v13

#: Real seconds between looks at the simulated air while nothing else is to be done.
AIR_POLL_S = 0.004

_JOIN_FAILURES = {
    ErrorCode.NOT_FOUND: NO_BEACONS,
    ErrorCode.KEY_ESTABLISHMENT_REFUSED: NO_NETWORK_KEY_RECEIVED,
}


def crc_ccitt(data: bytes) -> int:
    return binascii.crc_hqx(data, CRC_START)


def _pseudo_random(length: int) -> bytes:
    out = bytearray()
    value = RANDOM_SEED
    for _ in range(length):
        out.append(value)
        value = (value >> 1) ^ RANDOM_XOR if value & 1 else value >> 1
    return bytes(out)


PSEUDO_RANDOM = _pseudo_random(MAX_FRAME_OCTETS)


def randomise(data: bytes) -> bytes:
    """XOR with the ASH pseudo-random sequence (its own inverse)."""
    return bytes(a ^ b for a, b in zip(data, PSEUDO_RANDOM, strict=False))


def stuff(frame: bytes) -> bytes:
    out = bytearray()
    for byte in frame:
        if byte in RESERVED:
            out += bytes((ESCAPE, byte ^ ESCAPE_XOR))
        else:
            out.append(byte)
    return bytes(out)


def unstuff(data: bytes) -> bytes | None:
    """The frame without its escapes; None when an escape is left dangling."""
    out = bytearray()
    escaped = False
    for byte in data:
        if escaped:
            out.append(byte ^ ESCAPE_XOR)
            escaped = False
        elif byte == ESCAPE:
            escaped = True
        else:
            out.append(byte)
    return None if escaped else bytes(out)


def with_crc(body: bytes) -> bytes:
    return body + crc_ccitt(body).to_bytes(2, "big")


def data_frame(frame_number: int, ack_number: int, ezsp: bytes, retransmit: bool) -> bytes:
    control = frame_number << 4 | int(retransmit) << 3 | ack_number
    return with_crc(bytes([control]) + randomise(ezsp))


@dataclass
class AshStats:
    """What crossed the line, for tests and figures."""

    frames_in: int = 0
    frames_out: int = 0
    bad_frames_in: int = 0
    naks_sent: int = 0
    naks_received: int = 0
    retransmissions: int = 0
    ack_timeouts: int = 0
    resets: int = 0
    octets_out: int = 0


class AshNcp:
    """The NCP end of ASH: frames EZSP payloads out, checks and acknowledges frames in."""

    def __init__(self, write: Callable[[bytes], None], deliver: Callable[[bytes], None]):
        self._write = write
        self._deliver = deliver
        self.stats = AshStats()
        self.corrupt_next = 0  # the next N DATA frames go out with a wrong CRC
        self.reject_next = 0  # the host's next N DATA frames are treated as damaged
        self.on_reset: Callable[[], None] = lambda: None
        self._buffer = bytearray()
        self._discarding = False
        self._connected = False
        self._rx_expected = 0
        self._tx_next = 0
        self._rejecting = False
        self._paused = False
        self._queue: deque[bytes] = deque()
        self._outstanding: tuple[int, bytes] | None = None
        self._transmissions = 0
        self._timer: asyncio.TimerHandle | None = None

    @property
    def connected(self) -> bool:
        return self._connected

    def stop(self) -> None:
        self._cancel_timer()
        self._queue.clear()
        self._outstanding = None
        self._connected = False

    # ------------------------------------------------------------ receiving
    def feed(self, data: bytes) -> None:
        for byte in data:
            if byte == XON:
                self._paused = False
                self._kick()
            elif byte == XOFF:
                self._paused = True
            elif byte == CANCEL:
                self._buffer.clear()
                self._discarding = False
            elif byte == SUBSTITUTE:
                self._buffer.clear()
                self._discarding = True
            elif byte == FLAG:
                if self._buffer and not self._discarding:
                    self._frame(bytes(self._buffer))
                self._buffer.clear()
                self._discarding = False
            elif not self._discarding:
                self._buffer.append(byte)
                if len(self._buffer) > 2 * MAX_FRAME_OCTETS:
                    self._buffer.clear()
                    self._discarding = True

    def _frame(self, stuffed: bytes) -> None:
        raw = unstuff(stuffed)
        if raw is None or len(raw) < 3 or crc_ccitt(raw[:-2]) != int.from_bytes(raw[-2:], "big"):
            self.stats.bad_frames_in += 1
            if raw and not raw[0] & 0x80:
                self._reject()
            return
        control, body = raw[0], raw[1:-2]
        if control == CONTROL_RST:
            self._reset()
        elif not self._connected:
            return
        elif not control & 0x80:
            self._data(control, body)
        elif control & ACK_NAK_MASK == ACK_BITS:
            self._acknowledged(control & 7)
        elif control & ACK_NAK_MASK == NAK_BITS:
            self.stats.naks_received += 1
            self._nak(control & 7)

    def _data(self, control: int, body: bytes) -> None:
        number, retransmit, ack = control >> 4 & 7, bool(control & 0x08), control & 7
        if self.reject_next > 0:  # taken as damaged: nothing in it counts, not even its ack
            self.reject_next -= 1
            self.stats.bad_frames_in += 1
            self._reject()
            return
        self._acknowledged(ack)
        if number == self._rx_expected:
            self.stats.frames_in += 1
            self._rx_expected = (number + 1) % FRAME_NUMBERS
            self._rejecting = False
            self._send_control(ACK_BITS | self._rx_expected)
            self._deliver(randomise(body))
        elif retransmit:
            self._send_control(ACK_BITS | self._rx_expected)
        else:
            self._reject()

    def _reject(self) -> None:
        if self._connected and not self._rejecting:
            self._rejecting = True
            self.stats.naks_sent += 1
            self._send_control(NAK_BITS | self._rx_expected)

    def _acknowledged(self, ack: int) -> None:
        if self._outstanding and ack == (self._outstanding[0] + 1) % FRAME_NUMBERS:
            self._cancel_timer()
            self._outstanding = None
            self._kick()

    def _nak(self, ack: int) -> None:
        if self._outstanding and ack == self._outstanding[0]:
            self._cancel_timer()
            self._transmit(retransmit=True)
        else:
            self._acknowledged(ack)

    def _reset(self) -> None:
        self.stop()
        self._rx_expected = self._tx_next = 0
        self._rejecting = self._paused = False
        self._connected = True
        self.stats.resets += 1
        self.on_reset()
        rstack = with_crc(bytes([CONTROL_RSTACK, ASH_VERSION, RESET_SOFTWARE]))
        self._write(stuff(rstack) + bytes([FLAG]))

    # ------------------------------------------------------------ sending
    def send(self, ezsp: bytes) -> None:
        if self._connected:
            self._queue.append(ezsp)
            self._kick()

    def damaged_frame(self, ezsp: bytes) -> bytes:
        """The first half of the DATA frame that would carry ``ezsp`` next (line damage)."""
        frame = stuff(data_frame(self._tx_next, self._rx_expected, ezsp, False))
        return frame[: max(2, len(frame) // 2)]

    def _send_control(self, control: int) -> None:
        self._write(stuff(with_crc(bytes([control]))) + bytes([FLAG]))

    def _kick(self) -> None:
        if self._outstanding or not self._queue or self._paused or not self._connected:
            return
        self._outstanding = (self._tx_next, self._queue.popleft())
        self._tx_next = (self._tx_next + 1) % FRAME_NUMBERS
        self._transmissions = 0
        self._transmit(retransmit=False)

    def _transmit(self, retransmit: bool) -> None:
        assert self._outstanding is not None
        number, payload = self._outstanding
        self._transmissions += 1
        if retransmit:
            self.stats.retransmissions += 1
        frame = data_frame(number, self._rx_expected, payload, retransmit)
        if self.corrupt_next > 0:
            self.corrupt_next -= 1
            frame = frame[:-1] + bytes([frame[-1] ^ 0x5A])
        self.stats.frames_out += 1
        wire = stuff(frame) + bytes([FLAG])
        self.stats.octets_out += len(wire)
        self._write(wire)
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(ACK_TIMEOUT_S, self._ack_timeout)

    def _ack_timeout(self) -> None:
        self._timer = None
        if self._outstanding is None:
            return
        self.stats.ack_timeouts += 1
        if self._transmissions >= MAX_TRANSMISSIONS:
            log.info("host never acknowledged frame %d; dropping it", self._outstanding[0])
            self._outstanding = None
            self._kick()
            return
        self._transmit(retransmit=True)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


# ---------------------------------------------------------------- EZSP commands
@dataclass
class _Aps:
    """EmberApsFrame: profile, cluster, endpoints, options, group, sequence (11 octets)."""

    profile: int
    cluster: int
    src_endpoint: int
    dst_endpoint: int
    options: int
    group: int
    sequence: int

    @classmethod
    def read(cls, r: Reader) -> _Aps:
        return cls(r.u16(), r.u16(), r.u8(), r.u8(), r.u16(), r.u16(), r.u8())

    def to_bytes(self) -> bytes:
        return (
            u16(self.profile)
            + u16(self.cluster)
            + u8(self.src_endpoint)
            + u8(self.dst_endpoint)
            + u16(self.options)
            + u16(self.group)
            + u8(self.sequence)
        )


@dataclass
class _Block:
    """A fragment sent to the hub and not yet covered by its APS acknowledgement."""

    aps: _Aps
    tag: int
    payload: bytes


@dataclass
class _Incoming:
    """The blocks of one fragmented message from the hub that the NCP passed on."""

    total: int | None = None
    received: set[int] = field(default_factory=set)
    early: list[tuple[ApsFrame, int]] = field(default_factory=list)  # with their security

    @property
    def complete(self) -> bool:
        return self.total is not None and len(self.received) >= self.total

    def bits(self, first: int, mask: int) -> int:
        return mask & sum(1 << i for i in range(8) if first + i in self.received)


@dataclass
class _Session:
    """What the NCP holds between resets."""

    extended: bool = False
    last_sequence: int = 0
    passthrough: int = 0
    channel: int = 11
    link_key: bytes | None = None
    joined: str | None = None
    aps_counter: int = 0
    sent_blocks: dict[int, dict[int, _Block]] = field(default_factory=dict)
    incoming: dict[int, _Incoming] = field(default_factory=dict)
    # CBKE temporary data: our ephemeral key pair, then the agreed key and its partner
    cbke_private: int = 0
    cbke_public: bytes = b""
    cbke_agreed: tuple[EUI64, bytes] | None = None
    #: The key table: one (EUI-64, link key) or None per entry.
    key_table: list[tuple[EUI64, bytes] | None] = field(default_factory=list)


def _lv(data: bytes) -> bytes:
    return u8(len(data)) + data


def _i8(value: int) -> bytes:
    return (value & 0xFF).to_bytes(1, "little")


class EzspEmulator:
    """An EZSP NCP on a pty, forwarding its radio to ``sim``."""

    def __init__(
        self,
        sim: SimFrameRadio,
        *,
        directory: Path | None = None,
        interpan: bool = True,
        cbke: bool = True,
        certificate: bytes | None = None,
        ncp_credentials: Credentials | None = None,
        protocol_version: int = 13,
        stack_version: tuple[int, int, int, int] = (7, 4, 4, 0),
        build: int = 0,
        board: str = "HHT-EZSP-EMU",
        seed: int = 1,
        key_table_size: int = KEY_TABLE_SIZE,
        apply_link_keys: bool = True,
    ) -> None:
        if protocol_version not in SUPPORTED_PROTOCOLS:
            raise ValueError(f"the emulator speaks EZSP v8..v13, not v{protocol_version}")
        self.sim = sim
        self.interpan = interpan
        self.cbke = cbke
        self.certificate = certificate
        self.ncp_credentials = ncp_credentials
        #: Link keys CBKE on this NCP agreed and stored, by partner.
        self.cbke_link_keys: dict[EUI64, bytes] = {}
        self.key_table_size = key_table_size
        #: False: a faulty firmware that takes link keys (success) but never uses them.
        self.apply_link_keys = apply_link_keys
        #: The key commands the host sent: (frame id, parameters as they came).
        self.key_commands: list[tuple[int, bytes]] = []
        #: APS frames put on air, by whether they went APS-secured.
        self.secured_frames: Counter[bool] = Counter()
        self.protocol_version = protocol_version
        self.stack_version = stack_version
        self.build = build
        self.board = board
        self._directory = Path(directory or tempfile.mkdtemp(prefix="ezsp-emu-"))
        self._directory.mkdir(parents=True, exist_ok=True)
        self.path = self._directory / "ttyEZSP0"
        self._rng = random.Random(seed)
        self._master: int | None = None
        self._slave: int | None = None
        self._out = bytearray()
        self._writing = False
        self.ash = AshNcp(self._write, self._on_ezsp)
        self.ash.on_reset = self._on_reset
        self._session = self._new_session()
        self._jobs: deque[Callable[[], Awaitable[None]]] = deque()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self.commands_seen: list[int] = []
        self._handlers: dict[int, Callable[[Reader], bytes]] = {
            VERSION: self._version,
            GET_MFG_TOKEN: self._get_mfg_token,
            NETWORK_STATE: self._network_state,
            START_SCAN: self._start_scan,
            JOIN_NETWORK: self._join_network,
            LEAVE_NETWORK: self._leave_network,
            GET_EUI64: lambda _r: self.sim.eui.le,
            GET_NODE_ID: self._get_node_id,
            SEND_UNICAST: self._send_unicast,
            SEND_REPLY: self._send_reply,
            CUSTOM_FRAME: lambda _r: u8(INVALID_CALL) + _lv(b""),
            SEND_RAW_MESSAGE_EXTENDED: self._send_raw_extended,
            SEND_RAW_MESSAGE: self._send_raw,
            GET_CONFIGURATION_VALUE: self._get_configuration_value,
            SET_CONFIGURATION_VALUE: self._set_configuration_value,
            SET_INITIAL_SECURITY_STATE: self._set_initial_security_state,
            SET_RADIO_CHANNEL: self._set_radio_channel,
            GET_VALUE: self._get_value,
            SET_VALUE: self._set_value,
            GET_CERTIFICATE_283K1: self._get_certificate,
            GENERATE_CBKE_KEYS_283K1: self._generate_cbke_keys,
            CALCULATE_SMACS_283K1: self._calculate_smacs,
            CLEAR_TEMPORARY_DATA_283K1: self._clear_temporary_data,
            ADD_OR_UPDATE_KEY_TABLE_ENTRY: self._add_or_update_key,
            FIND_KEY_TABLE_ENTRY: self._find_key,
            IMPORT_LINK_KEY: self._import_link_key,
        }

    def _new_session(self) -> _Session:
        return _Session(key_table=[None] * self.key_table_size)

    # ------------------------------------------------------------ the port
    @property
    def plugged(self) -> bool:
        return self._master is not None

    async def start(self) -> EzspEmulator:
        self.replug()
        return self

    def replug(self) -> None:
        """Plug the stick in: a new pty, reached through :attr:`path`."""
        if self._master is not None:
            return
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        link = self.path.with_suffix(".new")
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(os.ttyname(slave))
        link.replace(self.path)
        self._out.clear()
        self._session = self._new_session()
        self.ash.stop()
        loop = asyncio.get_running_loop()
        loop.add_reader(master, self._readable)
        self._worker = asyncio.create_task(self._radio_worker(), name="ezsp-emulator")
        log.info("EZSP emulator plugged in at %s (%s)", self.path, os.ttyname(slave))

    def unplug(self) -> None:
        """Pull the stick out: the pty closes and :attr:`path` disappears."""
        master, slave = self._master, self._slave
        if master is None:
            return
        self._master = self._slave = None
        loop = asyncio.get_running_loop()
        loop.remove_reader(master)
        if self._writing:
            loop.remove_writer(master)
            self._writing = False
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                if fd is not None:
                    os.close(fd)
        self.ash.stop()
        self._jobs.clear()
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        self._session = self._new_session()
        log.info("EZSP emulator unplugged")

    async def close(self) -> None:
        worker = self._worker
        self.unplug()
        if worker is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        await self.sim.leave()
        with contextlib.suppress(OSError):
            self._directory.rmdir()

    def _readable(self) -> None:
        if self._master is None:
            return
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            log.debug("pty read failed: %s", exc)
            return
        if data:
            self.ash.feed(data)

    def _write(self, data: bytes) -> None:
        if self._master is None:
            return
        self._out += data
        self._flush()

    def _flush(self) -> None:
        master = self._master
        if master is None:
            return
        try:
            written = os.write(master, self._out) if self._out else 0
        except BlockingIOError:
            written = 0
        except OSError as exc:
            log.debug("pty write failed: %s", exc)
            self._out.clear()
            written = 0
        del self._out[:written]
        loop = asyncio.get_running_loop()
        if self._out and not self._writing:
            loop.add_writer(master, self._flush)
            self._writing = True
        elif not self._out and self._writing:
            loop.remove_writer(master)
            self._writing = False

    # ------------------------------------------------------------ faults on the line
    def inject_noise(self, data: bytes | None = None) -> None:
        """Line noise: random octets (never XON/XOFF, which the tty would act on), a flag."""
        if data is None:
            pool = [b for b in range(256) if b not in (XON, XOFF, FLAG)]
            data = bytes(self._rng.choice(pool) for _ in range(self._rng.randint(5, 40)))
        self._write(data + bytes([FLAG]))

    def inject_truncated(self, end: int = FLAG) -> None:
        """Half a DATA frame, ended by ``end`` (a flag, CANCEL or SUBSTITUTE)."""
        body = self._frame_bytes(GET_NODE_ID, u16(NOT_JOINED_NODE_ID), FC_ASYNC_CALLBACK)
        self._write(self.ash.damaged_frame(body) + bytes([end]))

    @property
    def corrupt_next(self) -> int:
        return self.ash.corrupt_next

    @corrupt_next.setter
    def corrupt_next(self, frames: int) -> None:
        self.ash.corrupt_next = frames

    @property
    def reject_next(self) -> int:
        return self.ash.reject_next

    @reject_next.setter
    def reject_next(self, frames: int) -> None:
        self.ash.reject_next = frames

    def inject_ezsp(self, frame_id: int, parameters: bytes) -> None:
        """An asynchronous EZSP frame with any parameters, in a well-formed ASH frame."""
        self.ash.send(self._frame_bytes(frame_id, parameters, FC_ASYNC_CALLBACK))

    # ------------------------------------------------------------ EZSP framing
    def _frame_bytes(self, frame_id: int, parameters: bytes, control: int) -> bytes:
        seq = self._session.last_sequence
        if self._session.extended:
            return bytes([seq, control, FC_HIGH_FORMAT_1]) + u16(frame_id) + parameters
        return bytes([seq, control, frame_id & 0xFF]) + parameters

    def _callback(self, frame_id: int, parameters: bytes) -> None:
        self.ash.send(self._frame_bytes(frame_id, parameters, FC_ASYNC_CALLBACK))

    def _on_reset(self) -> None:
        self._session = self._new_session()
        self._jobs.clear()
        self._forget_sim()

    def _forget_sim(self) -> None:
        self._jobs.append(self.sim.leave)
        self._wake.set()

    def _on_ezsp(self, frame: bytes) -> None:
        parsed = self._parse(frame)
        if parsed is None:
            return
        seq, frame_id, parameters, extended = parsed
        self._session.last_sequence = seq
        self.commands_seen.append(frame_id)
        if frame_id in KEY_COMMANDS:
            self.key_commands.append((frame_id, parameters))
        if not self._session.extended and frame_id != VERSION:
            self._respond(INVALID_COMMAND, u8(EZSP_ERROR_VERSION_NOT_SET), extended)
            return
        handler = self._handlers.get(frame_id)
        if handler is None or not self._has_command(frame_id):
            self._respond(INVALID_COMMAND, u8(EZSP_ERROR_INVALID_FRAME_ID), extended)
            return
        try:
            response = handler(Reader(parameters, f"EZSP frame {frame_id:#06x}"))
        except FrameError as exc:
            log.info("EZSP command %#06x malformed: %s", frame_id, exc)
            self._respond(INVALID_COMMAND, u8(EZSP_ERROR_INVALID_FRAME_ID), extended)
            return
        self._respond(frame_id, response, extended)
        if frame_id == VERSION and parameters[:1] == bytes([self.protocol_version]):
            self._session.extended = True  # the host speaks this NCP's version from now on

    def _has_command(self, frame_id: int) -> bool:
        """Whether this firmware, at its EZSP version, knows ``frame_id``."""
        if not self.cbke and frame_id in CBKE_283K1_COMMANDS:
            return False
        first, last = VERSIONED_COMMANDS.get(frame_id, (0, 255))
        return first <= self.protocol_version <= last

    def _parse(self, frame: bytes) -> tuple[int, int, bytes, bool] | None:
        if len(frame) < 3:
            return None
        extended = self._session.extended or (
            len(frame) >= 5 and frame[2] & 0x03 == FC_HIGH_FORMAT_1 and frame[3:5] == b"\0\0"
        )
        if extended:
            if len(frame) < 5:
                return None
            return frame[0], int.from_bytes(frame[3:5], "little"), frame[5:], True
        return frame[0], frame[2], frame[3:], False

    def _respond(self, frame_id: int, parameters: bytes, extended: bool) -> None:
        seq = self._session.last_sequence
        if extended:
            header = bytes([seq, FC_RESPONSE, FC_HIGH_FORMAT_1]) + u16(frame_id)
        else:
            header = bytes([seq, FC_RESPONSE, frame_id & 0xFF])
        self.ash.send(header + parameters)

    # ------------------------------------------------------------ commands: the stick
    def _version(self, r: Reader) -> bytes:
        r.u8()  # the version the host would like; the answer is this NCP's own
        stack = stack_version_word(self.stack_version)
        return u8(self.protocol_version) + u8(STACK_TYPE_MESH) + u16(stack)

    def _get_mfg_token(self, r: Reader) -> bytes:
        token = r.u8()
        text = {MFG_STRING: "HHT emulator", MFG_BOARD_NAME: self.board}.get(token)
        if text is None:
            return _lv(b"")
        raw = text.encode()[:MFG_TOKEN_OCTETS]
        return _lv(raw + b"\xff" * (MFG_TOKEN_OCTETS - len(raw)))

    def _get_value(self, r: Reader) -> bytes:
        value_id = r.u8()
        if value_id == VALUE_VERSION_INFO:
            major, minor, patch, special = self.stack_version
            info = u16(self.build) + bytes([major, minor, patch, special, 0xAA])
            return u8(SUCCESS) + _lv(info)
        if value_id == VALUE_MAC_PASSTHROUGH_FLAGS and self.interpan:
            return u8(SUCCESS) + _lv(u8(self._session.passthrough))
        return u8(EZSP_ERROR_INVALID_ID) + _lv(b"")

    def _set_value(self, r: Reader) -> bytes:
        value_id = r.u8()
        value = r.take(r.u8())
        if value_id == VALUE_MAC_PASSTHROUGH_FLAGS:
            if not self.interpan or len(value) != 1:
                return u8(EZSP_ERROR_INVALID_ID)
            self._session.passthrough = value[0]
            self._wake.set()
        return u8(SUCCESS)

    def _get_configuration_value(self, r: Reader) -> bytes:
        r.u8()
        return u8(SUCCESS) + u16(CONFIGURATION_VALUE)

    def _set_configuration_value(self, r: Reader) -> bytes:
        r.u8()
        r.u16()
        return u8(SUCCESS)

    def _network_state(self, _r: Reader) -> bytes:
        return u8(NETWORK_STATUS_JOINED if self._session.joined else NETWORK_STATUS_NONE)

    def _get_node_id(self, _r: Reader) -> bytes:
        return u16(JOINED_NODE_ID if self._session.joined else NOT_JOINED_NODE_ID)

    def _get_certificate(self, _r: Reader) -> bytes:
        if self.ncp_credentials is not None:
            cert = self.ncp_credentials.certificate
        else:
            cert = self.certificate or b"\xff" * CERTIFICATE_283K1_OCTETS
        return u8(SUCCESS) + cert[:CERTIFICATE_283K1_OCTETS].ljust(CERTIFICATE_283K1_OCTETS, b"\0")

    # ------------------------------------------------------------ commands: CBKE 283k1
    def _generate_cbke_keys(self, _r: Reader) -> bytes:
        self._schedule(self._cbke_keys)
        return u8(SUCCESS)

    async def _cbke_keys(self) -> None:
        curve = SUITE_2.curve
        k = 0
        while not 0 < k < curve.n:
            k = self._rng.getrandbits(curve.n.bit_length())
        session = self._session
        session.cbke_private = k
        session.cbke_public = curve.encode_point(curve.mul(k, curve.g))
        session.cbke_agreed = None
        self._callback(GENERATE_CBKE_KEYS_HANDLER_283K1, u8(SUCCESS) + session.cbke_public)

    def _calculate_smacs(self, r: Reader) -> bytes:
        am_initiator = bool(r.u8())
        certificate = r.take(CERTIFICATE_283K1_OCTETS)
        ephemeral = r.take(PUBLIC_KEY_283K1_OCTETS)
        if self.ncp_credentials is None or not self._session.cbke_public:
            return u8(INVALID_CALL)
        self._schedule(lambda: self._smacs(am_initiator, certificate, ephemeral))
        return u8(SUCCESS)

    async def _smacs(self, am_initiator: bool, certificate: bytes, ephemeral: bytes) -> None:
        """ECMQV with our static and ephemeral keys and the partner's: MACU and MACV."""
        credentials = self.ncp_credentials
        session = self._session
        assert credentials is not None
        curve = credentials.suite.curve
        try:
            partner = parse_certificate(certificate, credentials.suite)
            if partner.issuer != credentials.issuer:
                raise CertificateError(f"issuer {partner.issuer.hex().upper()}")
            z = ecmqv(
                curve,
                credentials.private_key % curve.n,
                session.cbke_private,
                curve.decode_point(session.cbke_public),
                partner.public_key(credentials.ca_point),
                curve.decode_point(ephemeral),
            )
        except (CertificateError, PointError) as exc:
            log.info("NCP CBKE: no key agreed: %s", exc)
            self._callback(CALCULATE_SMACS_HANDLER_283K1, u8(INVALID_CALL) + bytes(2 * SMAC_OCTETS))
            return
        mac_key, key_data = derive_keys(z)
        own = session.cbke_public
        if am_initiator:
            inputs = (credentials.ieee, partner.subject, own, ephemeral)
        else:
            inputs = (partner.subject, credentials.ieee, ephemeral, own)
        session.cbke_agreed = (partner.subject, key_data)
        smacs = mac_u(mac_key, *inputs) + mac_v(mac_key, *inputs)
        self._callback(CALCULATE_SMACS_HANDLER_283K1, u8(SUCCESS) + smacs)

    def _clear_temporary_data(self, r: Reader) -> bytes:
        store = bool(r.u8())
        session = self._session
        status = SUCCESS
        if store and session.cbke_agreed is not None:
            partner, key = session.cbke_agreed
            if self._store_key(KEY_TABLE_ANY, partner, key) is None:
                status = TABLE_FULL
            else:
                self.cbke_link_keys[partner] = key
                log.info("NCP CBKE: link key with %s stored", partner)
        session.cbke_private, session.cbke_public, session.cbke_agreed = 0, b"", None
        return u8(status)

    # ------------------------------------------------------------ commands: the key table
    def _add_or_update_key(self, r: Reader) -> bytes:
        address, _link_key, key = r.eui64(), r.u8(), r.take(LINK_KEY_OCTETS)
        stored = self._store_key(KEY_TABLE_ANY, address, key) is not None
        return u8(SUCCESS if stored else TABLE_FULL)

    def _import_link_key(self, r: Reader) -> bytes:
        index, address, key = r.u8(), r.eui64(), r.take(LINK_KEY_OCTETS)
        if index != KEY_TABLE_ANY and index >= self.key_table_size:
            return u32(SL_INVALID_INDEX)
        stored = self._store_key(index, address, key) is not None
        return u32(SL_OK if stored else SL_FULL)

    def _find_key(self, r: Reader) -> bytes:
        address, _link_key = r.eui64(), r.u8()
        return u8(self._key_index(address))

    def _key_index(self, address: EUI64) -> int:
        """The key-table entry of ``address``, KEY_TABLE_ANY when it has none."""
        for index, entry in enumerate(self._session.key_table):
            if entry is not None and entry[0] == address:
                return index
        return KEY_TABLE_ANY

    def _store_key(self, index: int, address: EUI64, key: bytes) -> int | None:
        """Put ``key`` for ``address`` at ``index`` (KEY_TABLE_ANY: its entry, else the first
        free one) and hand it to the radio; the index, None when the table is full."""
        table = self._session.key_table
        if index == KEY_TABLE_ANY:
            index = self._key_index(address)
        if index == KEY_TABLE_ANY:
            index = next((i for i, entry in enumerate(table) if entry is None), KEY_TABLE_ANY)
        if index == KEY_TABLE_ANY:
            return None
        table[index] = (address, bytes(key))
        if self.apply_link_keys:
            self._schedule(lambda: self._install_link_key(address, bytes(key)))
        else:
            log.info("faulty NCP firmware: link key for %s taken, never used", address)
        return index

    async def _install_link_key(self, address: EUI64, key: bytes) -> None:
        try:
            await self.sim.install_link_key(address, key)
        except RadioError as exc:
            log.info("the radio could not take the link key for %s: %s", address, exc)

    def _set_radio_channel(self, r: Reader) -> bytes:
        channel = r.u8()
        if not 11 <= channel <= 26:
            return u8(INVALID_CALL)
        self._session.channel = channel
        return u8(SUCCESS)

    # ------------------------------------------------------------ commands: the air
    def _schedule(self, job: Callable[[], Awaitable[None]]) -> None:
        self._jobs.append(job)
        self._wake.set()

    def _start_scan(self, r: Reader) -> bytes:
        scan_type, mask, _duration = r.u8(), r.u32(), r.u8()
        channels = [c for c in range(11, 27) if mask >> c & 1]
        self._schedule(lambda: self._scan(scan_type, channels))
        return u8(SUCCESS)

    async def _scan(self, scan_type: int, channels: list[int]) -> None:
        if scan_type == ACTIVE_SCAN and channels:
            for beacon in await self.sim.active_scan(channels):
                network = (
                    u8(beacon.channel)
                    + u16(beacon.pan_id)
                    + EUI64.from_hex(beacon.extended_pan_id).le
                    + u8(int(beacon.permit_join))
                    + u8(STACK_PROFILE_PRO)
                    + u8(0)
                )
                self._callback(NETWORK_FOUND_HANDLER, network + u8(beacon.lqi) + _i8(beacon.rssi))
        self._callback(SCAN_COMPLETE_HANDLER, u8(channels[-1] if channels else 0) + u8(SUCCESS))

    def _send_raw(self, r: Reader) -> bytes:
        return self._raw(r.take(r.u8()))

    def _send_raw_extended(self, r: Reader) -> bytes:
        message = r.take(r.u8())
        r.u8()  # priority
        r.u8()  # use CCA
        return self._raw(message)

    def _raw(self, message: bytes) -> bytes:
        if not self.interpan:
            return u8(INVALID_CALL)
        channel = self._session.channel
        self._schedule(lambda: self._transmit_raw(channel, message))
        return u8(SUCCESS)

    async def _transmit_raw(self, channel: int, message: bytes) -> None:
        status = SUCCESS
        try:
            frame = InterPanFrame.from_bytes(message)
        except (FrameError, ValueError):
            frame = None  # on the air all the same, understood by nobody here
        if frame is not None:
            try:
                await self.sim.send_interpan(channel, frame, BAND_2_4_GHZ)
            except RadioError as exc:
                log.info("raw frame not sent: %s", exc)
                status = DELIVERY_FAILED
        self._callback(RAW_TRANSMIT_COMPLETE_HANDLER, u8(status))

    def _set_initial_security_state(self, r: Reader) -> bytes:
        bitmask = r.u16()
        key = r.take(16)
        r.take(16)  # network key
        r.u8()  # its sequence number
        r.take(8)  # trust centre EUI-64
        self._session.link_key = key if bitmask & HAVE_PRECONFIGURED_KEY else None
        return u8(SUCCESS)

    def _join_network(self, r: Reader) -> bytes:
        r.u8()  # node type
        extended_pan_id = r.eui64()
        r.take(2 + 1 + 1 + 1 + 2 + 1 + 4)  # PAN id, power, channel, method, manager, update, mask
        if self._session.joined:
            return u8(INVALID_CALL)
        key = self._session.link_key or bytes(16)
        self._schedule(lambda: self._join(str(extended_pan_id), key))
        return u8(SUCCESS)

    async def _join(self, hub_id: str, key: bytes) -> None:
        try:
            await self.sim.join(hub_id, key)
        except RadioError as exc:
            log.info("join of %s failed: %s", hub_id, exc)
            self._callback(STACK_STATUS_HANDLER, u8(_JOIN_FAILURES.get(exc.code, JOIN_FAILED)))
            return
        self._session.joined = hub_id
        self._session.sent_blocks.clear()
        self._session.incoming.clear()
        self._callback(STACK_STATUS_HANDLER, u8(NETWORK_UP))

    def _leave_network(self, _r: Reader) -> bytes:
        if not self._session.joined:
            return u8(INVALID_CALL)
        self._session.joined = None
        self._schedule(self._leave)
        return u8(SUCCESS)

    async def _leave(self) -> None:
        await self.sim.leave()
        self._callback(STACK_STATUS_HANDLER, u8(NETWORK_DOWN))

    def _network_lost(self) -> None:
        if self._session.joined:
            self._session.joined = None
            self._callback(STACK_STATUS_HANDLER, u8(NETWORK_DOWN))

    def _next_aps_counter(self) -> int:
        self._session.aps_counter = (self._session.aps_counter + 1) & 0xFF
        return self._session.aps_counter

    def _send_unicast(self, r: Reader) -> bytes:
        message_type, destination = r.u8(), r.u16()
        aps = _Aps.read(r)
        tag = r.u8()
        payload = r.take(r.u8())
        if not self._session.joined:
            return u8(NETWORK_DOWN) + u8(0)
        if message_type != 0 or destination != HUB_NODE_ID:
            return u8(DELIVERY_FAILED) + u8(0)
        fragment = bool(aps.options & APS_OPTION_FRAGMENT)
        if not fragment or aps.group & 0xFF == 0:
            aps.sequence = self._next_aps_counter()
        self._schedule(lambda: self._unicast(aps, tag, payload))
        return u8(SUCCESS) + u8(aps.sequence)

    async def _unicast(self, aps: _Aps, tag: int, payload: bytes) -> None:
        hub = self._session.joined
        if hub is None:
            self._message_sent(aps, tag, payload, DELIVERY_FAILED)
            return
        fragment = bool(aps.options & APS_OPTION_FRAGMENT)
        total, index = aps.group >> 8, aps.group & 0xFF
        header = ApsHeader(
            frame_type=ApsFrameType.DATA,
            counter=aps.sequence,
            dst_endpoint=aps.dst_endpoint,
            cluster_id=aps.cluster,
            profile_id=aps.profile,
            src_endpoint=aps.src_endpoint,
            ack_request=bool(aps.options & APS_OPTION_RETRY),
            fragmentation=_fragmentation(fragment, index),
            block_number=(total if index == 0 else index) if fragment else 0,
        )
        if fragment:
            blocks = self._session.sent_blocks.setdefault(aps.sequence, {})
            if index == 0:
                blocks.clear()
            blocks[index] = _Block(aps, tag, payload)
        if not await self._to_hub(hub, ApsFrame(header, payload), _encrypted(aps)):
            self._message_sent(aps, tag, payload, DELIVERY_FAILED)
        elif not fragment:
            self._message_sent(aps, tag, payload, SUCCESS)

    def _send_reply(self, r: Reader) -> bytes:
        destination = r.u16()
        aps = _Aps.read(r)
        r.take(r.u8())
        if not self._session.joined:
            return u8(NETWORK_DOWN)
        if destination != HUB_NODE_ID or not aps.options & APS_OPTION_FRAGMENT:
            return u8(SUCCESS)  # an ordinary reply would go as data; the stack never asks
        self._schedule(lambda: self._fragment_ack(aps))
        return u8(SUCCESS)

    async def _fragment_ack(self, aps: _Aps) -> None:
        hub = self._session.joined
        if hub is None:
            return
        first, mask = aps.group & 0xFF, aps.group >> 8
        incoming = self._session.incoming.get(aps.sequence)
        bits = incoming.bits(first, mask) if incoming else 0
        header = ApsHeader(
            frame_type=ApsFrameType.ACK,
            counter=aps.sequence,
            dst_endpoint=aps.dst_endpoint,
            cluster_id=aps.cluster,
            profile_id=aps.profile,
            src_endpoint=aps.src_endpoint,
            fragmentation=Fragmentation.FIRST if first == 0 else Fragmentation.SUBSEQUENT,
            block_number=first,
            ack_bitfield=bits,
        )
        await self._to_hub(hub, ApsFrame(header), _encrypted(aps))

    async def _to_hub(self, hub: str, frame: ApsFrame, secure: bool) -> bool:
        """Put ``frame`` on air, APS-secured when the host asked for it; False when lost."""
        self.secured_frames[secure] += 1
        try:
            await self.sim.send_aps(hub, frame, secure=secure)
        except RadioError as exc:
            log.info("APS frame to %s lost: %s", hub, exc)
            if exc.code in (ErrorCode.LINK_LOST, ErrorCode.NOT_CONNECTED):
                self._network_lost()
            return False
        return True

    def _message_sent(self, aps: _Aps, tag: int, payload: bytes, status: int) -> None:
        self._callback(
            MESSAGE_SENT_HANDLER,
            u8(0) + u16(HUB_NODE_ID) + aps.to_bytes() + u8(tag) + u8(status) + _lv(payload),
        )

    # ------------------------------------------------------------ the air, heard
    async def _radio_worker(self) -> None:
        while True:
            try:
                if self._jobs:
                    await self._jobs.popleft()()
                    continue
                if await self._listen():
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), AIR_POLL_S)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a stick's firmware does not stop on one bad frame
                log.exception("EZSP emulator radio step failed")

    async def _listen(self) -> bool:
        """Hand the host one frame heard on the air; False when there was none."""
        session = self._session
        if session.joined:
            try:
                received = await self.sim.receive_aps(AIR_POLL_S)
            except RadioError as exc:
                log.info("network lost: %s", exc)
                self._network_lost()
                return False
            if received is None:
                return False
            self._from_hub(received.frame, bool(received.secured))
            return True
        if self.interpan and session.passthrough & MAC_PASSTHROUGH_SE_INTERPAN:
            heard = await self.sim.receive_interpan(AIR_POLL_S)
            if heard is None:
                return False
            self._callback(
                MAC_PASSTHROUGH_MESSAGE_HANDLER,
                u8(MAC_PASSTHROUGH_SE_INTERPAN)
                + u8(heard.lqi)
                + _i8(heard.rssi)
                + _lv(heard.frame.to_bytes()),
            )
            return True
        return False

    def _from_hub(self, frame: ApsFrame, secured: bool) -> None:
        header = frame.header
        security = APS_OPTION_ENCRYPTION if secured else 0
        if header.frame_type == ApsFrameType.ACK:
            self._hub_acknowledged(header)
        elif header.frame_type != ApsFrameType.DATA:
            return
        elif header.fragmentation == Fragmentation.NONE:
            self._incoming_message(frame, header.group or 0, security)
        else:
            self._incoming_block(frame, security)

    def _incoming_block(self, frame: ApsFrame, security: int) -> None:
        """Pass a block on with ``groupId`` = total << 8 | index.  One sender's blocks reach
        a real radio in order; the simulated air may let a short last block overtake the
        first, so later blocks wait here until the first (which gives the total) is in."""
        header = frame.header
        blocks = self._session.incoming
        transfer = blocks.get(header.counter)
        if transfer is None or (transfer.complete and header.fragmentation == Fragmentation.FIRST):
            transfer = blocks[header.counter] = _Incoming()
        if header.fragmentation == Fragmentation.SUBSEQUENT and transfer.total is None:
            transfer.early.append((frame, security))
            return
        if header.fragmentation == Fragmentation.FIRST:
            transfer.total = header.block_number
        index = 0 if header.fragmentation == Fragmentation.FIRST else header.block_number
        transfer.received.add(index)
        total = transfer.total or 0
        self._incoming_message(frame, total << 8 | index, APS_OPTION_FRAGMENT | security)
        early = sorted(transfer.early, key=lambda held: held[0].header.block_number)
        transfer.early = []
        for held, held_security in early:
            block = held.header.block_number
            transfer.received.add(block)
            self._incoming_message(held, total << 8 | block, APS_OPTION_FRAGMENT | held_security)

    def _incoming_message(self, frame: ApsFrame, group: int, options: int) -> None:
        """``options`` say FRAGMENT and ENCRYPTION (it came APS-secured) as they apply."""
        header = frame.header
        options |= APS_OPTION_RETRY if header.ack_request else 0
        aps = _Aps(
            profile=header.profile_id or 0,
            cluster=header.cluster_id or 0,
            src_endpoint=header.src_endpoint or 0,
            dst_endpoint=header.dst_endpoint or 0,
            options=options,
            group=group,
            sequence=header.counter,
        )
        kind = {
            DeliveryMode.GROUP: INCOMING_MULTICAST,
            DeliveryMode.BROADCAST: INCOMING_BROADCAST,
        }.get(header.delivery_mode, INCOMING_UNICAST)
        self._callback(
            INCOMING_MESSAGE_HANDLER,
            u8(kind)
            + aps.to_bytes()
            + u8(0xFF)  # last hop LQI
            + _i8(HUB_RSSI)
            + u16(HUB_NODE_ID)
            + u8(NO_INDEX)
            + u8(NO_INDEX)
            + _lv(frame.payload),
        )

    def _hub_acknowledged(self, ack: ApsHeader) -> None:
        blocks = self._session.sent_blocks.get(ack.counter)
        if not blocks:
            return
        bits = ack.ack_bitfield or 0
        for offset in range(8):
            block = blocks.pop(ack.block_number + offset, None)
            if block is not None:
                status = SUCCESS if bits >> offset & 1 else DELIVERY_FAILED
                self._message_sent(block.aps, block.tag, block.payload, status)


def _encrypted(aps: _Aps) -> bool:
    """Whether the host asked for this frame to go APS-secured."""
    return bool(aps.options & APS_OPTION_ENCRYPTION)


def _fragmentation(fragment: bool, index: int) -> Fragmentation:
    if not fragment:
        return Fragmentation.NONE
    return Fragmentation.FIRST if index == 0 else Fragmentation.SUBSEQUENT


def stack_version_word(version: tuple[int, int, int, int]) -> int:
    """The 16-bit stack version of the ``version`` response: one nibble per part."""
    major, minor, patch, special = version
    return major << 12 | minor << 8 | patch << 4 | special


__all__ = ["AshNcp", "AshStats", "EzspEmulator", "crc_ccitt", "randomise", "stuff", "unstuff"]
