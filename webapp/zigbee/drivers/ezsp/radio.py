"""The ``ezsp`` radio: a Silicon Labs stick with EmberZNet NCP firmware, through bellows.

:class:`EzspRadio` is a :class:`FrameRadio` on bellows' EZSP layer (``bellows.ezsp.EZSP``
with its ASH serial protocol), used command by command; zigpy's ControllerApplication is
not involved:

* active scan: ``startScan`` (active), beacons from ``networkFoundHandler`` (with the
  extended PAN id) until ``scanCompleteHandler``;
* Inter-PAN: the SE Inter-PAN MAC passthrough is switched on at start
  (``setValue(VALUE_MAC_PASSTHROUGH_FLAGS, MAC_PASSTHROUGH_SE_INTERPAN)``); frames go out
  raw (``setRadioChannel`` then ``sendRawMessageExtended``, the MAC frame without FCS) and
  come in through ``macPassthroughMessageHandler``.  Firmware that refuses the passthrough
  cannot reach a hub: ``send_interpan`` says so (RADIO_FAULT);
* joining: ``setInitialSecurityState`` with the install-code link key as the preconfigured
  key and the hub as trust centre, ``joinNetwork`` as a router, then ``stackStatusHandler``
  NETWORK_UP;
* APS: our :class:`ApsFrame` maps onto the EZSP APS frame (profile, cluster, endpoints,
  options, group, sequence).  Fragmentation is done above, by the HHT's stack; each block
  goes as one ``sendUnicast`` with the FRAGMENT option and ``groupId`` = total << 8 |
  index, and the NCP's APS counter of the first block is reused for the later ones.  The
  NCP reports a block acknowledged by the hub with ``messageSentHandler``; once every block
  sent is reported, the driver hands the stack one APS acknowledgement (bitfield) for them.
  Blocks from the hub arrive through ``incomingMessageHandler``; bellows reassembles them
  and acknowledges each (``sendReply``, FRAGMENT, ``groupId`` = 0xFF << 8 | block), so the
  stack gets whole messages.  Should the stack send an acknowledgement itself, it goes the
  same way (``groupId`` = bitfield << 8 | first block).
* APS security: a frame the stack sends ``secure`` goes with ``APS_OPTION_ENCRYPTION``
  (0x0020) in its APS options, so the NCP encrypts it under the link key it holds for the
  hub; an incoming message is reported ``secured`` when its options carry that bit.
* link keys: :meth:`EzspRadio.install_link_key` puts the key the host agreed with the hub
  into the NCP's key table by the command the negotiated EZSP version has:
  ``addOrUpdateKeyTableEntry`` (0x0066: EUI-64, linkKey True, key) up to EZSP v12, else
  (EZSP v13 on, where bellows has only the security manager's commands) ``importLinkKey``
  (0x010E: index, EUI-64, key) at the index ``findKeyTableEntry`` (0x0075) gives for the
  hub, or 0xFF (the hub's entry, else the first free one) when it has none.

Key establishment: the driver checks whether the NCP firmware carries the CBKE 283k1
library (``getCertificate283k1`` answered, or refused as an unknown command) and whether a
certificate is installed, and shows it as "NCP CBKE: yes / yes (no certificate installed) /
no".  With both, the key establishment with the hub once joined (over APS) runs on the
stick, through :class:`~webapp.zigbee.drivers.ezsp.key_establishment.NcpCbkeParty`.
Otherwise the host runs it (:mod:`webapp.zigbee.cbke`).  The Inter-PAN key establishment
always runs on the host: the host must hold that key to seal the install-code registration.
The stick's engine stores the key it agreed in its own key table
(``clearTemporaryDataMaybeStoreLinkKey283k1(True)``); the host never sees that key, so an
:meth:`EzspRadio.install_link_key` for the same hub afterwards leaves it in place.

A stick that goes away (the serial port closes) makes every call raise
RadioError(STICK_UNPLUGGED); :meth:`EzspRadio.reopen` opens the port again once it is back.
Frames the stick sends that do not decode are counted and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import bellows.types as t
import zigpy.config
from bellows.exception import InvalidCommandError
from bellows.ezsp import EZSP

from webapp.zigbee.drivers.base import BAND_2_4_GHZ, Beacon, ErrorCode, RadioError, RadioInfo
from webapp.zigbee.drivers.frames_base import FrameRadio, ReceivedAps, ReceivedInterPan
from webapp.zigbee.frames.aps import (
    ApsFrame,
    ApsFrameType,
    ApsHeader,
    DeliveryMode,
    Fragmentation,
)
from webapp.zigbee.frames.fragmentation import ack_header
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.types import EUI64, FrameError

from .key_establishment import CBKE_CALLBACKS, NcpCbkeError, NcpCbkeParty
from .status import succeeded

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BAUDRATE = 115200
DEFAULT_FLOW_CONTROL = "software"
#: Real seconds for each kind of wait on the stick.
CONNECT_TIMEOUT_S = 20.0
COMMAND_TIMEOUT_S = 12.0
SCAN_TIMEOUT_S = 30.0
JOIN_TIMEOUT_S = 20.0
LEAVE_TIMEOUT_S = 5.0
DISCONNECT_TIMEOUT_S = 3.0
#: Active scan duration exponent: (2^3 + 1) superframes of 15.36 ms per channel.
SCAN_DURATION = 3
CHANNELS_2_4_GHZ = range(11, 27)
TX_POWER_DBM = 8
HUB_NODE_ID = 0x0000  # the hub (CHF) forms the HAN: coordinator and trust centre
MAX_RAW_FRAME = 125  # 127 octets less the FCS the NCP adds
TAG_MODULUS = 256
BLOCK_WINDOW_BITS = 8
#: Real seconds the NCP may take for one CBKE step (generating keys, computing the SMACs).
CBKE_STEP_TIMEOUT_S = 30.0
LINK_KEY_OCTETS = 16
#: ``findKeyTableEntry``'s "no entry"; as ``importLinkKey``'s index: the entry for that
#: EUI-64 if there is one, else the first free entry.
KEY_TABLE_ANY_INDEX = 0xFF
#: The key-table commands: the first while the negotiated EZSP version has it (v4..v12).
ADD_OR_UPDATE_KEY = "addOrUpdateKeyTableEntry"
IMPORT_LINK_KEY = "importLinkKey"
FIND_KEY_ENTRY = "findKeyTableEntry"
UNPLUGGED = "unplugged"

_JOIN_FAILURES: dict[t.sl_Status, ErrorCode] = {
    t.sl_Status.NO_BEACONS: ErrorCode.NOT_FOUND,
    t.sl_Status.ZIGBEE_NO_NETWORK_KEY_RECEIVED: ErrorCode.KEY_ESTABLISHMENT_REFUSED,
}
_NO_INTERPAN = (
    "This stick's firmware cannot send or receive Inter-PAN frames (it refused the "
    "Smart Energy Inter-PAN passthrough), so it cannot reach a hub. Use a stick whose "
    "EmberZNet firmware has Inter-PAN support."
)


def _stack_status(status: Any) -> t.sl_Status:
    try:
        return t.sl_Status.from_ember_status(status)
    except (KeyError, ValueError):
        return t.sl_Status.FAIL


def _epid_hex(value: Any) -> str:
    """A bellows EUI-64 / extended PAN id (stored LSB first) as 16 upper-case hex digits."""
    return bytes(value.serialize())[::-1].hex().upper()


@dataclass
class _Transfer:
    """One fragmented APS transfer to the hub, as far as the NCP has reported it."""

    total: int
    ncp_sequence: int | None = None
    outstanding: set[int] = field(default_factory=set)
    confirmed: set[int] = field(default_factory=set)
    acknowledged: set[int] = field(default_factory=set)
    header: ApsHeader | None = None


@dataclass(frozen=True)
class _JoinTarget:
    channel: int
    pan_id: int
    permit_join: bool


_WAKE = object()


class _Mailbox:
    """Frames from the stick for callers of ``receive_*``.  An acknowledgement goes to the
    caller that began waiting last (the one that has just sent and waits for it), any other
    frame to the caller that has waited longest (the one listening for messages)."""

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._waiters: list[asyncio.Future[Any]] = []

    def clear(self) -> None:
        self._items.clear()

    def put(self, item: Any, *, to_newest: bool = False) -> None:
        waiters = [w for w in self._waiters if not w.done()]
        if not waiters:
            self._items.append(item)
            return
        waiter = waiters[-1] if to_newest else waiters[0]
        self._waiters.remove(waiter)
        waiter.set_result(item)

    def wake_all(self) -> None:
        """Every waiter looks again at the radio's state (gone, network lost)."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(_WAKE)
        self._waiters.clear()

    async def take(
        self, timeout: float, check: Callable[[], None], when_empty: Callable[[], None]
    ) -> Any:
        """The next frame, or None after ``timeout``; ``check`` may raise at any look,
        ``when_empty`` only when nothing is waiting here."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while True:
            check()
            if self._items:
                return self._items.popleft()
            when_empty()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            waiter: asyncio.Future[Any] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait({waiter}, timeout=remaining)
            except asyncio.CancelledError:
                self._keep(waiter)
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if not waiter.done():
                waiter.cancel()
            elif waiter.result() is not _WAKE:
                return waiter.result()

    def _keep(self, waiter: asyncio.Future[Any]) -> None:
        """A cancelled caller's frame goes back for the next one."""
        if waiter.done() and not waiter.cancelled() and waiter.result() is not _WAKE:
            self._items.appendleft(waiter.result())
        else:
            waiter.cancel()


class _PortWatch:
    """What bellows calls back when the serial port of one connection goes away."""

    def __init__(self, on_lost: Callable[[BaseException | None], None]) -> None:
        self.connection_lost = on_lost


class EzspRadio(FrameRadio):
    """A Silicon Labs EZSP stick on serial port ``path``.  Nothing touches the port until
    :meth:`reopen` (the first open too) or :meth:`start`; :meth:`open` does both steps."""

    def __init__(
        self,
        path: str,
        *,
        baudrate: int = DEFAULT_BAUDRATE,
        flow_control: str | None = DEFAULT_FLOW_CONTROL,
    ) -> None:
        self.path = str(path)
        self.baudrate = baudrate
        self.flow_control = flow_control
        self.info = RadioInfo(
            kind="ezsp",
            description=f"Silicon Labs EZSP stick at {self.path}",
            firmware="not read yet",
            bands=frozenset({BAND_2_4_GHZ}),
        )
        self.eui: EUI64 | None = None
        self.ncp_cbke: bool | None = None
        self.ncp_certificate_installed = False
        self.interpan_supported: bool | None = None
        self.dropped_frames = 0
        self._ezsp: EZSP | None = None
        self._generation = 0
        self._gone = asyncio.Event()
        self._gone_reason = ""
        self._closed = False
        self._interpan = _Mailbox()
        self._aps = _Mailbox()
        self._status_waiters: list[asyncio.Future[t.sl_Status]] = []
        self._cbke_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._heard: dict[str, list[Beacon]] = {}
        self._reached: dict[str, tuple[int, int]] = {}  # hub id -> (channel, PAN id)
        self._channel: int | None = None
        self._joined: str | None = None
        self._link_down = False
        self._tag_counter = itertools.count(1)
        self._tags: dict[int, tuple[int, int]] = {}  # message tag -> (APS counter, block)
        self._transfers: dict[int, _Transfer] = {}
        #: Peers whose link key the NCP's own CBKE engine stored since the last join.
        self._ncp_keyed: set[EUI64] = set()

    @classmethod
    async def open(cls, path: str, **options: Any) -> EzspRadio:
        radio = cls(path, **options)
        await radio.start()
        return radio

    # ------------------------------------------------------------ state
    @property
    def available(self) -> bool:
        return self._ezsp is not None and not self._gone.is_set() and not self._closed

    @property
    def link_down(self) -> bool:
        return self._link_down

    @property
    def cbke_label(self) -> str:
        if self.ncp_cbke is None:
            return "NCP CBKE: not checked"
        if self.ncp_cbke and not self.ncp_certificate_installed:
            return "NCP CBKE: yes (no certificate installed)"
        return "NCP CBKE: yes" if self.ncp_cbke else "NCP CBKE: no"

    def _port_present(self) -> bool:
        return os.path.exists(self.path)

    def _gone_error(self) -> RadioError:
        if self._closed:
            return RadioError(ErrorCode.RADIO_FAULT, "the EZSP radio was closed")
        if not self._port_present():
            return RadioError(
                ErrorCode.STICK_UNPLUGGED, f"the radio stick at {self.path} was {UNPLUGGED}"
            )
        reason = f" ({self._gone_reason})" if self._gone_reason else ""
        return RadioError(
            ErrorCode.STICK_UNPLUGGED,
            f"the radio stick at {self.path} stopped answering{reason}; "
            f"it may have been {UNPLUGGED}",
        )

    def _check(self) -> EZSP:
        if self._closed or self._ezsp is None or self._gone.is_set():
            raise self._gone_error()
        return self._ezsp

    # ------------------------------------------------------------ opening
    async def start(self) -> None:
        """Open the port, reset the stick, negotiate EZSP and read what it is."""
        if self._closed:
            raise RadioError(ErrorCode.RADIO_FAULT, "the EZSP radio was closed")
        if not self._port_present():
            raise RadioError(ErrorCode.STICK_UNPLUGGED, f"no radio stick at {self.path}")
        self._generation += 1
        watch = _PortWatch(functools.partial(self._port_lost, self._generation))
        config = zigpy.config.SCHEMA_DEVICE(
            {
                zigpy.config.CONF_DEVICE_PATH: self.path,
                zigpy.config.CONF_DEVICE_BAUDRATE: self.baudrate,
                zigpy.config.CONF_DEVICE_FLOW_CONTROL: self.flow_control,
            }
        )
        ezsp = EZSP(config, application=watch)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await ezsp.connect(use_thread=False)
        except Exception as exc:  # noqa: BLE001 - bellows raises many kinds here
            await _quietly(ezsp.disconnect())
            if not self._port_present():
                raise RadioError(
                    ErrorCode.STICK_UNPLUGGED, f"the radio stick at {self.path} is {UNPLUGGED}"
                ) from exc
            raise RadioError(
                ErrorCode.RADIO_FAULT, f"no EZSP stick answered on {self.path}: {exc!r}"
            ) from exc
        self._forget_session()
        self._gone = asyncio.Event()
        self._gone_reason = ""
        self._ezsp = ezsp
        ezsp.add_callback(self._on_callback)
        try:
            await self._read_identity(ezsp)
        except BaseException:
            await self._drop_connection()
            raise
        log.info("EZSP stick on %s: %s; %s", self.path, self.info.firmware, self.cbke_label)

    async def _read_identity(self, ezsp: EZSP) -> None:
        (eui,) = await self.ncp_call("getEui64")
        self.eui = EUI64.from_hex(_epid_hex(eui))
        board = version = None
        try:
            _maker, board, version = await self._guarded(ezsp.get_board_info(), "board info")
        except (InvalidCommandError, RadioError) as exc:
            if isinstance(exc, RadioError) and exc.code is ErrorCode.STICK_UNPLUGGED:
                raise
            log.info("stick on %s has no board information: %s", self.path, exc)
        stack = f"EmberZNet {version}" if version else "EmberZNet (version not reported)"
        self.info.firmware = f"{stack}, EZSP protocol v{ezsp.ezsp_version}"
        await self._probe_cbke()
        await self._enable_interpan()
        what = f"Silicon Labs EZSP stick{f' {board}' if board else ''} at {self.path}"
        where = "on the stick" if self._cbke_on_stick() else "on the HHT"
        self.info.description = (
            f"{what}; {self.cbke_label} (key establishment with the hub runs {where})"
        )

    async def _probe_cbke(self) -> None:
        try:
            status, certificate = await self.ncp_call("getCertificate283k1")
        except (InvalidCommandError, AttributeError) as exc:
            log.info("NCP firmware has no CBKE 283k1 library: %s", exc)
            self.ncp_cbke = False
            return
        self.ncp_cbke = succeeded(status)
        raw = bytes(certificate)
        self.ncp_certificate_installed = self.ncp_cbke and raw != b"\xff" * len(raw)

    def _cbke_on_stick(self) -> bool:
        return bool(self.ncp_cbke and self.ncp_certificate_installed)

    def key_establishment_party(self, peer: EUI64) -> NcpCbkeParty | None:
        """The stick's CBKE engine when its firmware has one and a certificate is installed;
        None (the host's CBKE) otherwise."""
        if not self._cbke_on_stick():
            return None
        return NcpCbkeParty(self, peer)

    async def cbke_step(self, command: str, callback: str, *args: Any) -> dict[str, Any]:
        """Run one CBKE command on the NCP and wait for the callback with its result.
        NcpCbkeError when the NCP refuses or reports a failure."""
        self._check()
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._cbke_waiters[callback] = waiter
        try:
            try:
                (status,) = await self.ncp_call(command, *args)
            except InvalidCommandError as exc:
                raise NcpCbkeError(f"{command} refused: {exc}") from exc
            if not succeeded(status):
                raise NcpCbkeError(f"{command} refused (status {status})")
            fields = await self._guarded(waiter, command, CBKE_STEP_TIMEOUT_S)
        finally:
            if self._cbke_waiters.get(callback) is waiter:
                del self._cbke_waiters[callback]
        if not succeeded(fields["status"]):
            raise NcpCbkeError(f"{callback} reported status {fields['status']}")
        return fields

    def cbke_key_stored(self, peer: EUI64) -> None:
        """The NCP's CBKE engine stored the key it agreed with ``peer`` in its key table."""
        self._ncp_keyed.add(peer)

    def _on_cbke(self, name: str, fields: dict[str, Any]) -> None:
        waiter = self._cbke_waiters.pop(name, None)
        if waiter is None or waiter.done():
            log.info("unexpected %s from the stick", name)
            return
        waiter.set_result(fields)

    async def _enable_interpan(self) -> None:
        flags = bytes([t.EmberMacPassthroughType.MAC_PASSTHROUGH_SE_INTERPAN])
        try:
            (status,) = await self.ncp_call(
                "setValue", t.EzspValueId.VALUE_MAC_PASSTHROUGH_FLAGS, flags
            )
        except InvalidCommandError:
            status = 1
        self.interpan_supported = succeeded(status)
        if not self.interpan_supported:
            log.warning("stick on %s refused the SE Inter-PAN passthrough", self.path)

    def _forget_session(self) -> None:
        self._interpan.clear()
        self._aps.clear()
        self._tags.clear()
        self._transfers.clear()
        self._channel = None
        self._joined = None
        self._link_down = False
        self._ncp_keyed.clear()

    async def reopen(self) -> None:
        """Open the stick again after it went away (any joined network is forgotten)."""
        if self._closed:
            raise RadioError(ErrorCode.RADIO_FAULT, "the EZSP radio was closed")
        await self._drop_connection()
        await self.start()

    async def _drop_connection(self) -> None:
        ezsp, self._ezsp = self._ezsp, None
        self._generation += 1
        self._forget_session()
        if ezsp is not None:
            await _quietly(ezsp.disconnect())

    def _port_lost(self, generation: int, exc: BaseException | None) -> None:
        if generation != self._generation or self._closed:
            return
        log.warning("EZSP stick on %s went away: %r", self.path, exc)
        self._gone_reason = "" if exc is None else str(exc) or type(exc).__name__
        self._gone.set()
        self._wake_all()
        for waiter in self._status_waiters:
            if not waiter.done():
                waiter.set_exception(self._gone_error())

    async def close(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(RadioError):
            await self.leave()
        self._closed = True
        await self._drop_connection()

    # ------------------------------------------------------------ calling the stick
    async def _guarded(self, awaitable: Awaitable[T], what: str, timeout: float = 0.0) -> T:
        """``awaitable``, unless the stick goes away or ``timeout`` passes first."""
        gone = self._gone
        task = asyncio.ensure_future(awaitable)
        if gone.is_set():
            task.cancel()
            raise self._gone_error()
        watcher = asyncio.ensure_future(gone.wait())
        try:
            done, _ = await asyncio.wait(
                {task, watcher},
                timeout=timeout or COMMAND_TIMEOUT_S,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            watcher.cancel()
            if not task.done():
                task.cancel()
                task.add_done_callback(_consume)
        if task in done:
            try:
                return task.result()
            except (InvalidCommandError, RadioError, asyncio.CancelledError):
                raise
            except Exception as exc:  # noqa: BLE001 - anything bellows raises is a fault
                raise self._failure(f"{what}: {exc!r}") from exc
        if gone.is_set():
            raise self._gone_error()
        raise self._failure(f"the stick did not finish {what} in {timeout or COMMAND_TIMEOUT_S} s")

    def _failure(self, detail: str) -> RadioError:
        if self._gone.is_set() or not self._port_present():
            self._gone.set()
            self._wake_all()
            return self._gone_error()
        return RadioError(ErrorCode.RADIO_FAULT, detail)

    async def ncp_call(self, name: str, *args: Any) -> Any:
        """EZSP command ``name``, guarded: RadioError when the stick goes away or is slow."""
        ezsp = self._check()
        return await self._guarded(getattr(ezsp, name)(*args), name)

    def _has(self, name: str) -> bool:
        return self._ezsp is not None and name in self._ezsp.COMMANDS

    # ------------------------------------------------------------ callbacks
    def _on_callback(self, name: str, args: list[Any]) -> None:
        handler = {
            "macPassthroughMessageHandler": self._on_passthrough,
            "incomingMessageHandler": self._on_incoming,
            "messageSentHandler": self._on_sent,
            "stackStatusHandler": self._on_stack_status,
            **{cb: functools.partial(self._on_cbke, cb) for cb in CBKE_CALLBACKS},
        }.get(name)
        if handler is None:
            return
        try:
            handler(self._named(name, args))
        except (FrameError, ValueError, TypeError, KeyError, AttributeError) as exc:
            self.dropped_frames += 1
            log.info("dropping a %s from the stick: %s", name, exc)

    def _named(self, name: str, args: list[Any]) -> dict[str, Any]:
        assert self._ezsp is not None
        schema = self._ezsp.COMMANDS[name][2]
        return dict(zip(schema.keys(), args, strict=False))

    def _wake_all(self) -> None:
        self._interpan.wake_all()
        self._aps.wake_all()

    def _on_passthrough(self, fields: dict[str, Any]) -> None:
        kind = int(fields["messageType"])
        if not kind & t.EmberMacPassthroughType.MAC_PASSTHROUGH_SE_INTERPAN:
            return
        info = fields.get("packetInfo")
        lqi = int(fields["lastHopLqi"] if info is None else info.last_hop_lqi)
        rssi = int(fields["lastHopRssi"] if info is None else info.last_hop_rssi)
        frame = InterPanFrame.from_bytes(bytes(fields["messageContents"]))
        self._interpan.put(ReceivedInterPan(frame, lqi, rssi))

    def _on_incoming(self, fields: dict[str, Any]) -> None:
        hub = self._joined
        aps = fields.get("apsFrame", fields.get("aps_frame"))
        sender = int(fields.get("sender", fields.get("nwk", -1)))
        if hub is None or sender != HUB_NODE_ID:
            self.dropped_frames += 1
            log.info("dropping an APS frame from node %04X", sender & 0xFFFF)
            return
        kind = int(fields.get("type", fields.get("message_type", 0)))
        message = bytes(fields.get("messageContents", fields.get("message", b"")))
        header = _header_from_ezsp(aps, kind)
        self._aps.put(ReceivedAps(hub, ApsFrame(header, message), secured=header.security))

    def _on_sent(self, fields: dict[str, Any]) -> None:
        tag = int(fields.get("messageTag", fields.get("message_tag", -1)))
        status = fields["status"]
        entry = self._tags.pop(tag, None)
        if entry is None:
            if not succeeded(status):
                log.info("the hub did not take an APS frame (status %s)", status)
            return
        counter, block = entry
        transfer = self._transfers.get(counter)
        if transfer is None:
            return
        transfer.outstanding.discard(block)
        if succeeded(status):
            transfer.confirmed.add(block)
        if not transfer.outstanding:
            self._acknowledge_blocks(counter, transfer, block)

    def _acknowledge_blocks(self, counter: int, transfer: _Transfer, last: int) -> None:
        """Everything sent so far is reported: one APS acknowledgement for the stack."""
        if self._joined is None or transfer.header is None:
            return
        confirmed = sorted(transfer.confirmed)
        first = confirmed[0] if confirmed else last
        bits = sum(1 << (b - first) for b in confirmed if 0 <= b - first < BLOCK_WINDOW_BITS)
        transfer.acknowledged.update(confirmed)
        transfer.confirmed.clear()
        ack = ApsFrame(ack_header(transfer.header, first, bits))
        self._aps.put(ReceivedAps(self._joined, ack), to_newest=True)
        if len(transfer.acknowledged) >= transfer.total:
            self._transfers.pop(counter, None)

    def _on_stack_status(self, fields: dict[str, Any]) -> None:
        status = _stack_status(fields["status"])
        for waiter in self._status_waiters:
            if not waiter.done():
                waiter.set_result(status)
        if status == t.sl_Status.NETWORK_DOWN and self._joined is not None:
            log.warning("the stick lost the network of hub %s", self._joined)
            self._link_down = True
            self._aps.wake_all()

    # ------------------------------------------------------------ scan
    async def active_scan(self, channels: list[int] | None = None) -> list[Beacon]:
        ezsp = self._check()
        wanted = [c for c in CHANNELS_2_4_GHZ if channels is None or c in channels]
        if not wanted:
            return []
        mask = t.Channels.from_channel_list(wanted)
        scan = ezsp.startScan(t.EzspNetworkScanType.ACTIVE_SCAN, mask, SCAN_DURATION)
        results = await self._guarded(scan, "an active scan", SCAN_TIMEOUT_S)
        beacons = [b for b in map(self._beacon, results) if b is not None]
        beacons.sort(key=lambda b: (-b.rssi, b.extended_pan_id, b.pan_id))
        if channels is None:
            self._heard.clear()
        for beacon in beacons:
            self._heard.setdefault(beacon.extended_pan_id, []).append(beacon)
        return beacons

    def _beacon(self, result: list[Any]) -> Beacon | None:
        if not result or not isinstance(result[0], t.EmberZigbeeNetwork):
            return None  # an energy scan result
        network, lqi, rssi = result[0], int(result[1]), int(result[2])
        if network.channel not in CHANNELS_2_4_GHZ:
            self.dropped_frames += 1
            return None
        return Beacon(
            channel=int(network.channel),
            pan_id=int(network.panId),
            extended_pan_id=_epid_hex(network.extendedPanId),
            lqi=lqi,
            rssi=rssi,
            permit_join=bool(network.allowingJoin),
            band=BAND_2_4_GHZ,
            interpan_open=None,
        )

    # ------------------------------------------------------------ Inter-PAN
    async def send_interpan(
        self, channel: int, frame: InterPanFrame, band: str = BAND_2_4_GHZ
    ) -> None:
        self._check()
        if band != BAND_2_4_GHZ or channel not in CHANNELS_2_4_GHZ:
            raise RadioError(
                ErrorCode.BAND_UNSUPPORTED, f"{band} channel {channel} is not on this stick"
            )
        if not self.interpan_supported:
            raise RadioError(ErrorCode.RADIO_FAULT, _NO_INTERPAN)
        raw = frame.to_bytes()
        if len(raw) > MAX_RAW_FRAME:
            raise ValueError(f"Inter-PAN frame of {len(raw)} octets does not fit one frame")
        if self._channel != channel:
            (status,) = await self.ncp_call("setRadioChannel", channel)
            if not succeeded(status):
                raise RadioError(ErrorCode.RADIO_FAULT, f"the stick would not tune to {channel}")
            self._channel = channel
        if isinstance(frame.dst, EUI64):
            self._reached[str(frame.dst)] = (channel, frame.dst_pan)
        if self._has("sendRawMessageExtended"):
            (status,) = await self.ncp_call("sendRawMessageExtended", raw, 0, True)
        else:
            (status,) = await self.ncp_call("sendRawMessage", raw)
        if not succeeded(status):
            self.interpan_supported = False
            raise RadioError(ErrorCode.RADIO_FAULT, f"{_NO_INTERPAN} (status {status})")

    async def receive_interpan(self, timeout: float) -> ReceivedInterPan | None:
        return await self._interpan.take(timeout, self._check, _nothing)

    # ------------------------------------------------------------ joined
    def _join_target(self, extended_pan_id: str) -> _JoinTarget | None:
        """Where to join: the network last reached under that id (the one that passed key
        establishment, not a spoof's), else the best beacon heard for it.  MAC association
        needs the beacon's permit-join flag; without it a NWK rejoin is used."""
        heard = sorted(
            self._heard.get(extended_pan_id, []), key=lambda b: (not b.permit_join, -b.rssi)
        )
        reached = self._reached.get(extended_pan_id)
        if reached is not None:
            permit = any((b.channel, b.pan_id) == reached and b.permit_join for b in heard)
            return _JoinTarget(reached[0], reached[1], permit)
        if not heard:
            return None
        return _JoinTarget(heard[0].channel, heard[0].pan_id, heard[0].permit_join)

    async def join(self, extended_pan_id: str, link_key: bytes) -> None:
        self._check()
        hub = extended_pan_id.upper()
        if self._joined is not None:
            await self.leave()
        target = self._join_target(hub)
        if target is None:
            await self.active_scan()
            target = self._join_target(hub)
        if target is None:
            raise RadioError(ErrorCode.NOT_FOUND, f"no network {hub} heard")
        await self._set_security(hub, link_key)
        self._ncp_keyed.clear()
        waiter: asyncio.Future[t.sl_Status] = asyncio.get_running_loop().create_future()
        self._status_waiters.append(waiter)
        try:
            (status,) = await self.ncp_call(
                "joinNetwork", t.EmberNodeType.ROUTER, _parameters(hub, target)
            )
            if not succeeded(status):
                raise RadioError(ErrorCode.NOT_FOUND, f"the stick would not join {hub} ({status})")
            result = await self._guarded(waiter, f"joining {hub}", JOIN_TIMEOUT_S)
        finally:
            self._status_waiters.remove(waiter)
        if result != t.sl_Status.NETWORK_UP:
            code = _JOIN_FAILURES.get(result, ErrorCode.LINK_LOST)
            raise RadioError(code, f"joining hub {hub} failed ({result.name})")
        self._joined, self._link_down = hub, False
        self._reached[hub] = (target.channel, target.pan_id)
        self._aps.clear()
        self._transfers.clear()
        self._tags.clear()

    async def _set_security(self, hub: str, link_key: bytes) -> None:
        bits = t.EmberInitialSecurityBitmask
        state = t.EmberInitialSecurityState(
            bitmask=bits.HAVE_PRECONFIGURED_KEY
            | bits.REQUIRE_ENCRYPTED_KEY
            | bits.HAVE_TRUST_CENTER_EUI64,
            preconfiguredKey=t.KeyData(link_key),
            networkKey=t.KeyData(bytes(16)),
            networkKeySequenceNumber=0,
            preconfiguredTrustCenterEui64=t.EUI64(EUI64.from_hex(hub).le),
        )
        (status,) = await self.ncp_call("setInitialSecurityState", state)
        if not succeeded(status):
            raise RadioError(ErrorCode.RADIO_FAULT, f"the stick refused the link key ({status})")

    async def install_link_key(self, peer: EUI64, key: bytes) -> None:
        """Put ``key`` in the NCP's key table for ``peer``; RadioError(RADIO_FAULT) when the
        stick refuses it.  A key the NCP's own CBKE stored for ``peer`` stays."""
        self._check()
        if len(key) != LINK_KEY_OCTETS:
            raise ValueError(f"a link key has {LINK_KEY_OCTETS} octets, not {len(key)}")
        if peer in self._ncp_keyed:
            log.info("the stick's CBKE already stored the link key with %s; kept", peer)
            return
        address = t.EUI64(peer.le)
        if self._has(ADD_OR_UPDATE_KEY):
            command = ADD_OR_UPDATE_KEY
            args: tuple[Any, ...] = (address, t.Bool.true, t.KeyData(key))
        else:
            command = IMPORT_LINK_KEY
            args = (await self._key_table_index(address), address, t.KeyData(key))
        try:
            (status,) = await self.ncp_call(command, *args)
        except InvalidCommandError as exc:
            raise RadioError(
                ErrorCode.RADIO_FAULT, f"the stick does not know {command}: {exc}"
            ) from exc
        if not succeeded(status):
            raise RadioError(
                ErrorCode.RADIO_FAULT,
                f"the stick refused the link key for {peer} ({command}: status {status!r})",
            )
        log.info("link key for %s is in the stick's key table (%s)", peer, command)

    async def _key_table_index(self, address: t.EUI64) -> int:
        """The key-table index of ``address``'s link key, or KEY_TABLE_ANY_INDEX."""
        try:
            (index,) = await self.ncp_call(FIND_KEY_ENTRY, address, t.Bool.true)
        except InvalidCommandError as exc:
            log.info("the stick cannot look up its key table: %s", exc)
            return KEY_TABLE_ANY_INDEX
        return int(index)

    async def send_aps(self, destination: str, frame: ApsFrame, *, secure: bool = False) -> None:
        self._check()
        if self._joined is None or destination.upper() != self._joined:
            raise RadioError(ErrorCode.NOT_CONNECTED, f"not joined to {destination}")
        if self._link_down:
            raise RadioError(ErrorCode.LINK_LOST, "the stick lost the hub's network")
        header = frame.header
        if header.frame_type == ApsFrameType.ACK:
            await self._send_block_ack(header, secure)
        elif header.frame_type == ApsFrameType.DATA:
            await self._send_data(header, frame.payload, secure)
        else:
            raise ValueError(f"the EZSP driver sends APS data and acks, not {header.frame_type}")

    async def _send_data(self, header: ApsHeader, payload: bytes, secure: bool) -> None:
        tag = next(self._tag_counter) % TAG_MODULUS
        options = _options(header, secure)
        group = header.group or 0
        sequence = header.counter
        transfer = None
        block = 0
        if header.fragmentation != Fragmentation.NONE:
            options |= t.EmberApsOption.APS_OPTION_FRAGMENT
            transfer, block = self._transfer_for(header)
            group = transfer.total << 8 | block
            if block and transfer.ncp_sequence is not None:
                sequence = transfer.ncp_sequence
            transfer.outstanding.add(block)
            self._tags[tag] = (header.counter, block)
        aps = _ezsp_aps(header, options, group, sequence)
        try:
            status, ncp_sequence = await self.ncp_call(
                "sendUnicast",
                t.EmberOutgoingMessageType.OUTGOING_DIRECT,
                HUB_NODE_ID,
                aps,
                tag,
                payload,
            )
        except RadioError:
            self._tags.pop(tag, None)
            raise
        if not succeeded(status):
            self._tags.pop(tag, None)
            if transfer is not None:
                transfer.outstanding.discard(block)
            raise self._send_failed(status)
        if transfer is not None and block == 0:
            transfer.ncp_sequence = int(ncp_sequence)

    def _transfer_for(self, header: ApsHeader) -> tuple[_Transfer, int]:
        if header.fragmentation == Fragmentation.FIRST:
            transfer = _Transfer(total=header.block_number, header=header)
            self._transfers[header.counter] = transfer
            return transfer, 0
        transfer = self._transfers.get(header.counter)
        if transfer is None:
            transfer = _Transfer(total=0, header=header)
            self._transfers[header.counter] = transfer
        return transfer, header.block_number

    def _send_failed(self, status: Any) -> RadioError:
        result = _stack_status(status)
        if result in (t.sl_Status.NETWORK_DOWN, t.sl_Status.NOT_JOINED):
            self._link_down = True
        return RadioError(
            ErrorCode.LINK_LOST, f"the stick could not send to the hub ({result.name})"
        )

    async def _send_block_ack(self, header: ApsHeader, secure: bool) -> None:
        if header.fragmentation == Fragmentation.NONE:
            return  # the NCP acknowledges unfragmented frames itself
        group = (header.ack_bitfield or 0) << 8 | header.block_number
        options = t.EmberApsOption.APS_OPTION_FRAGMENT
        if secure:
            options |= t.EmberApsOption.APS_OPTION_ENCRYPTION
        aps = _ezsp_aps(header, options, group, header.counter)
        (status,) = await self.ncp_call("sendReply", HUB_NODE_ID, aps, b"")
        if not succeeded(status):
            raise self._send_failed(status)

    async def receive_aps(self, timeout: float) -> ReceivedAps | None:
        return await self._aps.take(timeout, self._check, self._check_network)

    def _check_network(self) -> None:
        if self._link_down:
            raise RadioError(ErrorCode.LINK_LOST, "the stick lost the hub's network")

    async def leave(self) -> None:
        hub, self._joined = self._joined, None
        self._aps.clear()
        self._transfers.clear()
        self._tags.clear()
        self._link_down = False
        if hub is None or not self.available:
            return
        assert self._ezsp is not None
        try:
            await self._guarded(self._ezsp.leaveNetwork(timeout=LEAVE_TIMEOUT_S), "leaving")
        except (RadioError, InvalidCommandError) as exc:
            log.info("leaving hub %s: %s", hub, exc)


# ---------------------------------------------------------------- APS frame mapping
def _options(header: ApsHeader, secure: bool) -> t.EmberApsOption:
    """The NCP's options for a data frame: APS-encrypted under the hub's link key when
    the stack asks for it (``secure``), network security only otherwise."""
    options = t.EmberApsOption.APS_OPTION_ENABLE_ROUTE_DISCOVERY
    if header.ack_request:
        options |= t.EmberApsOption.APS_OPTION_RETRY
    if secure:
        options |= t.EmberApsOption.APS_OPTION_ENCRYPTION
    return options


def _ezsp_aps(header: ApsHeader, options: int, group: int, sequence: int) -> t.EmberApsFrame:
    return t.EmberApsFrame(
        profileId=header.profile_id or 0,
        clusterId=header.cluster_id or 0,
        sourceEndpoint=header.src_endpoint or 0,
        destinationEndpoint=header.dst_endpoint or 0,
        options=t.EmberApsOption(options),
        groupId=group & 0xFFFF,
        sequence=sequence & 0xFF,
    )


def _header_from_ezsp(aps: Any, kind: int) -> ApsHeader:
    """Our APS header for a message bellows hands up.  Blocks of a fragmented message are
    reassembled (and acknowledged to the sender) by bellows itself, so every message
    arrives whole: its header says unfragmented whatever the FRAGMENT option says."""
    options = int(aps.options)
    mode = {
        t.EmberIncomingMessageType.INCOMING_MULTICAST: DeliveryMode.GROUP,
        t.EmberIncomingMessageType.INCOMING_BROADCAST: DeliveryMode.BROADCAST,
    }.get(t.EmberIncomingMessageType(kind), DeliveryMode.UNICAST)
    group = int(aps.groupId) if mode == DeliveryMode.GROUP else None
    return ApsHeader(
        frame_type=ApsFrameType.DATA,
        counter=int(aps.sequence),
        delivery_mode=mode,
        dst_endpoint=None if group is not None else int(aps.destinationEndpoint),
        group=group,
        cluster_id=int(aps.clusterId),
        profile_id=int(aps.profileId),
        src_endpoint=int(aps.sourceEndpoint),
        security=bool(options & t.EmberApsOption.APS_OPTION_ENCRYPTION),
        ack_request=bool(options & t.EmberApsOption.APS_OPTION_RETRY),
    )


def _parameters(hub: str, target: _JoinTarget) -> t.EmberNetworkParameters:
    method = (
        t.EmberJoinMethod.USE_MAC_ASSOCIATION
        if target.permit_join
        else t.EmberJoinMethod.USE_NWK_REJOIN
    )
    return t.EmberNetworkParameters(
        extendedPanId=t.ExtendedPanId(EUI64.from_hex(hub).le),
        panId=t.EmberPanId(target.pan_id),
        radioTxPower=TX_POWER_DBM,
        radioChannel=target.channel,
        joinMethod=method,
        nwkManagerId=t.EmberNodeId(0),
        nwkUpdateId=0,
        channels=t.Channels.from_channel_list([target.channel]),
    )


def _nothing() -> None:
    pass


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def _quietly(awaitable: Awaitable[Any]) -> None:
    try:
        async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
            await awaitable
    except Exception as exc:  # noqa: BLE001 - the port is being dropped anyway
        log.debug("closing the EZSP connection: %r", exc)
