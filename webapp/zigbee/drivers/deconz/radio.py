"""The ``deconz`` radio: a ConBee (I, II or III) at frame level, through zigpy-deconz.

:class:`DeconzRadio` runs :class:`~webapp.zigbee.drivers.deconz.api.DeconzApi` (zigpy-deconz
with Inter-PAN and beacons added) command by command; zigpy's ControllerApplication is not
involved.  The added commands are this project's reading of the deCONZ serial protocol and
are UNTESTED ON REAL CONBEE FIRMWARE: only :mod:`webapp.sim.emulators.deconz` speaks them so
far.

What the HHT asks of the stick, and how:

* scan: for each channel, START_INTERPAN with its "beacon request" option; the stick
  reports every beacon it hears (0x1F) and then answers.  Beacon indications carry no
  extended PAN id, so a beacon is named by probing: an Inter-PAN Initiate Key Establishment
  with an empty certificate, sent to each hub id the installer expects (typed, scanned from
  the hub's label, or the job's hub: :meth:`DeconzRadio.expect`); the hub that holds that
  id answers (with a Terminate) from its own address and PAN.  Beacons nobody claims are
  reported with an empty extended PAN id.
* Inter-PAN: START_INTERPAN on the channel, then SEND_INTERPAN; answers arrive as
  INTERPAN_INDICATION.  Firmware that does not know these commands cannot reach a GB hub
  before joining it: the driver says so plainly (``NO_INTERPAN``).
* join: WRITE_PARAMETER for the trust centre and its link key (the install-code key), the
  network (APS extended PAN id) and the channel, then CHANGE_NETWORK_STATE to connected,
  then DEVICE_STATE until the stick says connected.
* APS: APS data request (0x12) per whole ZCL payload.  The stick fragments and
  acknowledges APS blocks itself, so the blocks the stack hands over are gathered into one
  request and their acknowledgements given back by the driver; incoming transfers arrive
  reassembled, as one frame.
* APS security: a payload the stack sends ``secure`` goes with the transmit option
  SECURITY_ENABLED (0x01) and without USE_NWK_KEY_SECURITY (0x02), so the stick
  APS-encrypts it under the link key it holds for the hub; any other with
  USE_NWK_KEY_SECURITY (network security only).  APS indications do not say whether a
  frame came APS-secured, so incoming frames are reported ``secured`` None.
* link keys: :meth:`DeconzRadio.install_link_key` is WRITE_PARAMETER of the link-key
  parameter (0x19): the peer's EUI-64 (LSB first), then the 16-octet key; the join
  writes the install-code key for the trust centre the same way.

The stick's IEEE address must be the terminal's provisioned EUI-64 (its certificate's
subject): Inter-PAN frames leave with the stick's own address.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import zigpy.config
import zigpy.types as zt
import zigpy_deconz.types as dt
from zigpy_deconz.api import (
    DeviceState,
    FirmwarePlatform,
    LinkKey,
    NetworkParameter,
    NetworkState,
    NetworkState2,
    SecurityMode,
    Status,
)
from zigpy_deconz.exception import CommandError

from webapp.zigbee.drivers.base import BAND_2_4_GHZ, Beacon, ErrorCode, RadioError, RadioInfo
from webapp.zigbee.drivers.frames_base import FrameRadio, ReceivedAps, ReceivedInterPan
from webapp.zigbee.frames import key_establishment
from webapp.zigbee.frames.aps import ApsFrame, ApsFrameType, ApsHeader, Fragmentation
from webapp.zigbee.frames.fragmentation import Reassembler, ack_header, block_index
from webapp.zigbee.frames.interpan import SMART_ENERGY_PROFILE, InterPanFrame
from webapp.zigbee.frames.key_establishment import InitiateKeyEstablishment
from webapp.zigbee.frames.zcl import Direction, ZclHeader
from webapp.zigbee.sizes import APS_WINDOW, MAX_APS_BLOCK
from webapp.zigbee.types import EUI64, FrameError, Reader

from .api import DeconzApi, StickGone
from .frames import (
    BeaconIndication,
    ExtraCommand,
    InterPanConfirm,
    InterPanIndication,
    InterPanRequest,
    InterPanStart,
    RawFrame,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BAUDRATE = 115200
CHANNELS_2_4 = range(11, 27)
#: deCONZ protocol version from which the stick wants its watchdog fed.
WATCHDOG_PROTOCOL = 0x0108
WATCHDOG_PERIOD_SECONDS = 30.0
#: The HHT joins as a router (deCONZ "designed coordinator" 0).
DESIGNED_COORDINATOR = 0
#: Security mode for SE: the network key comes from the trust centre under its link key.
JOIN_SECURITY_MODE = SecurityMode.ONLY_TCLK
#: Hub ids a scan probes for at most (the most recently expected first).
MAX_EXPECTED = 8
#: The ZCL TSNs the driver's probes use (the stack's own key establishment starts low).
PROBE_TSNS = range(0xC0, 0x100)
INTERPAN_SRC_PAN = 0xFFFF
LINK_KEY_OCTETS = 16

NO_INTERPAN = (
    "this ConBee firmware has no Inter-PAN, which a GB hub needs before it lets a terminal "
    "join; use an EZSP (Silicon Labs) stick or update the ConBee firmware"
)


@dataclass(frozen=True)
class DeconzTimeouts:
    """Real seconds the driver waits for the stick (and, through it, the hub)."""

    open: float = 5.0  # open the port and read the firmware version
    command: float = 2.0  # an answer to one of the Inter-PAN commands
    scan_channel: float = 3.0  # one channel's beacon request and the beacons heard
    confirm: float = 5.0  # a send confirm (APS or Inter-PAN)
    probe: float = 1.0  # answers to the probes on one channel
    join: float = 15.0  # network state connected after CHANGE_NETWORK_STATE
    join_poll: float = 0.05
    state_refresh: float = 0.5  # re-read the device state while waiting for frames
    probe_grace: float = 3.0  # late probe answers are dropped this long


class _StickEvents:
    """What zigpy-deconz calls back into: packets, send confirms, the port closing."""

    def __init__(self, radio: DeconzRadio) -> None:
        self.radio: DeconzRadio | None = radio

    def packet_received(self, packet: zt.ZigbeePacket) -> None:
        if self.radio is not None:
            self.radio._on_packet(packet)

    def handle_tx_confirm(self, request_id: int, status: int) -> None:
        if self.radio is not None:
            self.radio._on_tx_confirm(int(request_id), int(status))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.radio is not None:
            self.radio._on_port_lost(exc)

    def gp_packet_received(self, packet: object) -> None:
        log.debug("ignoring a Green Power frame")


def _zigpy_eui(eui: EUI64) -> zt.EUI64:
    return zt.EUI64.deserialize(eui.le)[0]


def _platform_name(platform: FirmwarePlatform) -> str:
    names = {
        FirmwarePlatform.Conbee: "ConBee",
        FirmwarePlatform.Conbee_II: "ConBee II",
        FirmwarePlatform.Conbee_III: "ConBee III",
    }
    return names.get(platform, f"deCONZ platform {int(platform):#04x}")


def _tx_options(length: int, secure: bool) -> dt.DeconzTransmitOptions:
    """APS data request options: APS-secured under the peer's link key (``secure``) or
    under the network key only; APS acknowledged; fragmented when it needs to be."""
    options = dt.DeconzTransmitOptions.USE_APS_ACKS
    if secure:
        options |= dt.DeconzTransmitOptions.SECURITY_ENABLED
    else:
        options |= dt.DeconzTransmitOptions.USE_NWK_KEY_SECURITY
    if length > MAX_APS_BLOCK:
        options |= dt.DeconzTransmitOptions.ALLOW_FRAGMENTATION
    return options


# ------------------------------------------------------------ the radio
class DeconzRadio(FrameRadio):
    """A ConBee on ``port`` (opened on first use, or by :meth:`reopen`)."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = DEFAULT_BAUDRATE,
        expected: Iterable[str] = (),
        timeouts: DeconzTimeouts | None = None,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.timeouts = timeouts or DeconzTimeouts()
        self.info = RadioInfo(
            kind="deconz",
            description=f"ConBee on {port}",
            firmware="not read yet",
            bands=frozenset({BAND_2_4_GHZ}),
        )
        self.eui: EUI64 | None = None
        self._expected: list[str] = []
        for hub_id in expected:
            self.expect(hub_id)
        self._api: DeconzApi | None = None
        self._events: _StickEvents | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._lost: str | None = None
        self._closed = False
        self._wake = asyncio.Event()
        self._interpan_in: deque[ReceivedInterPan] = deque()
        self._aps_in: deque[ReceivedAps] = deque()
        self._beacons: list[BeaconIndication] | None = None
        self._tx_confirms: dict[int, asyncio.Future[int]] = {}
        self._interpan_confirms: dict[int, asyncio.Future[int]] = {}
        self._request_ids = itertools.cycle(range(1, 256))
        self._probe_tsns = itertools.cycle(PROBE_TSNS)
        self._probes: dict[tuple[EUI64, int], tuple[int, float]] = {}  # -> (TSN, until)
        self._probe_heard: set[tuple[EUI64, int]] = set()
        self._interpan_channel: int | None = None
        self._has_interpan: bool | None = None
        self._joined: str | None = None
        self._outgoing = Reassembler()
        self._aps_counter = itertools.cycle(range(256))
        self._known: dict[tuple[int, int], str] = {}  # (channel, PAN) -> hub id
        self._heard_on: dict[str, int] = {}  # hub id -> channel
        self._dropped = 0
        self.firmware_acks = 0

    # ------------------------------------------------------------ opening and losing
    async def reopen(self) -> None:
        """(Re)open the port and read what the stick is; RadioError RADIO_FAULT if no stick
        answers there.  The stick starts afresh: out of any network, no Inter-PAN."""
        if self._closed:
            raise RadioError(ErrorCode.RADIO_FAULT, "the ConBee radio was closed")
        await self._drop_api()
        events = _StickEvents(self)
        config = {
            zigpy.config.CONF_DEVICE_PATH: self.port,
            zigpy.config.CONF_DEVICE_BAUDRATE: self.baudrate,
            zigpy.config.CONF_DEVICE_FLOW_CONTROL: None,
        }
        api = DeconzApi(events, config, on_unsolicited=self._on_unsolicited, on_frame=self._poke)
        try:
            async with asyncio.timeout(self.timeouts.open):
                await api.connect()
                mac = await api.read_parameter(NetworkParameter.mac_address)
        except Exception as exc:  # noqa: BLE001 - whatever it is, there is no usable stick
            events.radio = None
            with contextlib.suppress(Exception):
                await api.disconnect()
            if isinstance(exc, OSError):
                raise RadioError(ErrorCode.STICK_UNPLUGGED, self._unplugged(str(exc))) from exc
            raise RadioError(
                ErrorCode.RADIO_FAULT,
                f"the device on {self.port} does not answer like a ConBee ({exc!r})",
            ) from exc
        self._api, self._events, self._lost = api, events, None
        self._wake = asyncio.Event()
        self.eui = EUI64.from_le(bytes(mac.serialize()))
        self._fresh_stick()
        version = api.firmware_version
        self.info.description = f"{_platform_name(version.platform)} on {self.port}"
        self.info.firmware = f"deCONZ {int(version):#010x} (protocol {api.protocol_version:#06x})"
        if api.protocol_version >= WATCHDOG_PROTOCOL:
            self._watchdog = asyncio.create_task(self._feed_watchdog(api))
        log.info("ConBee on %s: %s, IEEE %s", self.port, self.info.firmware, self.eui)

    reconnect = reopen

    @property
    def available(self) -> bool:
        """False while the stick is gone (unplugged, or not yet opened)."""
        return not self._closed and self._api is not None

    def _fresh_stick(self) -> None:
        self._interpan_channel = None
        self._has_interpan = None
        self._joined = None
        self._interpan_in.clear()
        self._aps_in.clear()
        self._outgoing = Reassembler()

    def _unplugged(self, why: str = "") -> str:
        detail = f" ({why})" if why else ""
        return (
            f"the ConBee stick on {self.port} was unplugged or stopped answering{detail}; "
            "plug it back in and connect again"
        )

    def _on_port_lost(self, exc: Exception | None) -> None:
        log.warning("ConBee on %s: serial port lost (%s)", self.port, exc)
        self._lost = str(exc) if exc else "port closed"
        self._detach_api()
        gone = RadioError(ErrorCode.STICK_UNPLUGGED, self._unplugged(self._lost))
        for fut in [*self._tx_confirms.values(), *self._interpan_confirms.values()]:
            if not fut.done():
                fut.set_exception(gone)
                fut.exception()  # whoever waits sees it; nobody may be waiting yet
        self._poke()

    def _detach_api(self) -> None:
        """Let go of the zigpy-deconz API (if any): no more events, disconnect it quietly."""
        api, self._api = self._api, None
        if self._events is not None:
            self._events.radio = None
            self._events = None
        if api is not None:
            self._retire(api)

    def _retire(self, api: DeconzApi) -> None:
        self._dropped += api.dropped_frames
        api.dropped_frames = 0
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        task = asyncio.get_running_loop().create_task(self._quietly_disconnect(api))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _quietly_disconnect(api: DeconzApi) -> None:
        with contextlib.suppress(Exception):
            await api.disconnect()

    async def _drop_api(self) -> None:
        self._detach_api()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def _feed_watchdog(self, api: DeconzApi) -> None:
        ttl = int(2 * WATCHDOG_PERIOD_SECONDS)
        while True:
            try:
                await api.write_parameter(NetworkParameter.watchdog_ttl, ttl)
            except Exception as exc:  # noqa: BLE001 - the next call reports a dead stick
                log.info("ConBee watchdog not fed: %r", exc)
            await asyncio.sleep(WATCHDOG_PERIOD_SECONDS)

    async def _stick(self) -> DeconzApi:
        """The open stick, reopening the port first when it went away."""
        if self._closed:
            raise RadioError(ErrorCode.RADIO_FAULT, "the ConBee radio was closed")
        if self._api is None:
            await self.reopen()
        assert self._api is not None
        return self._api

    def _alive(self) -> DeconzApi:
        if self._closed:
            raise RadioError(ErrorCode.RADIO_FAULT, "the ConBee radio was closed")
        if self._api is None:
            raise RadioError(ErrorCode.STICK_UNPLUGGED, self._unplugged(self._lost or ""))
        return self._api

    async def _guard(self, what: str, call: Awaitable[T]) -> T:
        """``call``, with whatever zigpy-deconz raises turned into a RadioError."""
        try:
            return await call
        except RadioError:
            raise
        except StickGone as exc:
            raise RadioError(ErrorCode.STICK_UNPLUGGED, self._unplugged(str(exc))) from exc
        except TimeoutError as exc:
            if self._api is None:
                raise RadioError(
                    ErrorCode.STICK_UNPLUGGED, self._unplugged(self._lost or "")
                ) from exc
            raise RadioError(ErrorCode.RADIO_FAULT, f"the ConBee did not answer {what}") from exc
        except CommandError as exc:
            if exc.status == Status.NO_NETWORK:
                self._joined = None
                raise RadioError(
                    ErrorCode.LINK_LOST, f"the ConBee left the network ({what})"
                ) from exc
            raise RadioError(
                ErrorCode.RADIO_FAULT, f"the ConBee refused {what} (status {exc.status!r})"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - anything else from the stick is a fault
            raise RadioError(ErrorCode.RADIO_FAULT, f"bad answer to {what}: {exc!r}") from exc

    def _poke(self) -> None:
        self._wake.set()

    @property
    def dropped_frames(self) -> int:
        """Frames from the stick that were malformed, unasked for or from unknown nodes."""
        api = self._api
        return self._dropped + (0 if api is None else api.dropped_frames)

    async def device_state(self) -> DeviceState:
        """The stick's network state and flags, read over the serial line."""
        api = await self._stick()
        return await self._guard("DEVICE_STATE", api.refresh_device_state())

    @property
    def link_down(self) -> bool:
        """True when the stick is gone, or has lost the network the HHT joined."""
        if self._api is None:
            return True
        return self._joined is not None and self._network_state() != NetworkState2.CONNECTED

    def _network_state(self) -> NetworkState2:
        api = self._api
        return NetworkState2.OFFLINE if api is None else api.device_state.network_state

    # ------------------------------------------------------------ what the installer expects
    def expect(self, hub_id: str) -> None:
        """Name ``hub_id`` (typed, scanned from the label, or the job's) for scans to probe."""
        text = "".join(ch for ch in hub_id if ch not in "-: ").upper()
        eui = str(EUI64.from_hex(text))
        if eui in self._expected:
            self._expected.remove(eui)
        self._expected.insert(0, eui)
        del self._expected[MAX_EXPECTED:]

    def move_to(self, hub_id: str) -> None:
        """The installer is at ``hub_id``'s home: a real radio stays where it is, but scans
        now probe for that hub."""
        try:
            self.expect(hub_id)
        except ValueError:
            log.info("not a hub id to expect: %r", hub_id)

    @property
    def expected(self) -> list[str]:
        return list(self._expected)

    # ------------------------------------------------------------ unsolicited frames
    def _on_unsolicited(self, frame: RawFrame) -> None:
        try:
            if frame.command_id == ExtraCommand.INTERPAN_INDICATION:
                self._on_interpan(InterPanIndication.from_bytes(frame.body))
            elif frame.command_id == ExtraCommand.INTERPAN_CONFIRM:
                self._on_interpan_confirm(InterPanConfirm.from_bytes(frame.body))
            elif frame.command_id == ExtraCommand.BEACON_INDICATION:
                self._on_beacon(BeaconIndication.from_bytes(frame.body))
        except FrameError as exc:
            self._dropped += 1
            log.info("dropping a malformed frame %#04x from the ConBee: %s", frame.command_id, exc)

    def _on_interpan(self, indication: InterPanIndication) -> None:
        frame = indication.to_frame()
        if self._is_probe_answer(frame):
            self._probe_heard.add((frame.src, frame.src_pan))
            self._poke()
            return
        self._interpan_in.append(ReceivedInterPan(frame, indication.lqi, indication.rssi))
        self._poke()

    def _on_interpan_confirm(self, confirm: InterPanConfirm) -> None:
        fut = self._interpan_confirms.get(confirm.request_id)
        if fut is not None and not fut.done():
            fut.set_result(confirm.status)

    def _on_beacon(self, beacon: BeaconIndication) -> None:
        if self._beacons is None:
            log.debug("beacon outside a scan: %s", beacon)
            return
        self._beacons.append(beacon)

    def _on_tx_confirm(self, request_id: int, status: int) -> None:
        fut = self._tx_confirms.get(request_id)
        if fut is not None and not fut.done():
            fut.set_result(status)

    def _on_packet(self, packet: zt.ZigbeePacket) -> None:
        source = self._source_of(packet.src)
        if source is None:
            self._dropped += 1
            log.info("dropping an APS frame from an unknown node %s", packet.src)
            return
        header = ApsHeader(
            frame_type=ApsFrameType.DATA,
            counter=next(self._aps_counter),
            dst_endpoint=int(packet.dst_ep or 0),
            cluster_id=int(packet.cluster_id),
            profile_id=int(packet.profile_id),
            src_endpoint=int(packet.src_ep or 0),
        )
        frame = ApsFrame(header, bytes(packet.data.serialize()))
        # an APS indication does not say whether the frame came APS-secured
        self._aps_in.append(ReceivedAps(source, frame, secured=None))
        self._poke()

    def _source_of(self, address: zt.AddrModeAddress | None) -> str | None:
        if address is None:
            return None
        if address.addr_mode == zt.AddrMode.IEEE:
            return str(EUI64.from_le(bytes(address.address.serialize())))
        if address.addr_mode == zt.AddrMode.NWK and address.address == 0x0000:
            return self._joined  # the coordinator: the hub this terminal joined
        return None

    # ------------------------------------------------------------ waiting
    async def _next(self, box: deque[T], timeout: float, *, joined: bool = False) -> T | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while True:
            api = self._alive()
            if box:
                return box.popleft()
            if joined and self.link_down:
                raise RadioError(ErrorCode.LINK_LOST, "the ConBee lost the hub's network")
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            self._wake.clear()
            slice_ = min(remaining, self.timeouts.state_refresh)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(slice_):
                    await self._wake.wait()
            if joined and not self._wake.is_set() and not box and self._api is api:
                await self._guard("DEVICE_STATE", api.refresh_device_state())

    async def _confirm(
        self, box: dict[int, asyncio.Future[int]], request_id: int, *, joined: bool = False
    ) -> int | None:
        """The send confirm for ``request_id``; None when none came in time.  A joined
        stick that drops out of the network confirms nothing more: LINK_LOST."""
        fut = box.get(request_id)
        if fut is None:
            return None
        try:
            await self._wait_until(
                lambda: fut.done() or (joined and self.link_down), self.timeouts.confirm
            )
            if fut.done():
                return fut.result()
            if joined and self.link_down:
                raise RadioError(ErrorCode.LINK_LOST, "the ConBee lost the hub's network")
            return None
        finally:
            box.pop(request_id, None)

    def _request_id(self, busy: dict[int, asyncio.Future[int]]) -> int:
        for _ in range(255):
            request_id = next(self._request_ids)
            if request_id not in busy:
                busy[request_id] = asyncio.get_running_loop().create_future()
                return request_id
        raise RadioError(ErrorCode.RADIO_FAULT, "255 sends await a confirm from the ConBee")

    # ------------------------------------------------------------ scan
    async def active_scan(self, channels: list[int] | None = None) -> list[Beacon]:
        await self._stick()
        wanted = [c for c in (CHANNELS_2_4 if channels is None else channels) if c in CHANNELS_2_4]
        heard: list[BeaconIndication] = []
        for channel in wanted:
            heard += await self._scan_channel(channel)
        named: dict[int, str] = {}
        for channel in sorted({b.channel for b in heard}):
            on_channel = [(i, b) for i, b in enumerate(heard) if b.channel == channel]
            named.update(await self._name_beacons(channel, on_channel))
        beacons = [self._beacon(beacon, named.get(i)) for i, beacon in enumerate(heard)]
        beacons.sort(key=lambda b: (-b.rssi, b.extended_pan_id, b.pan_id))
        return beacons

    async def _scan_channel(self, channel: int) -> list[BeaconIndication]:
        self._beacons = []
        try:
            await self._start_interpan(channel, scan=True)
            return [b for b in self._beacons if b.channel == channel]
        finally:
            self._beacons = None

    def _beacon(self, heard: BeaconIndication, hub_id: str | None) -> Beacon:
        if hub_id is not None:
            self._known[(heard.channel, heard.pan_id)] = hub_id
            self._heard_on[hub_id] = heard.channel
        return Beacon(
            channel=heard.channel,
            pan_id=heard.pan_id,
            extended_pan_id=hub_id or "",
            lqi=heard.lqi,
            rssi=heard.rssi,
            permit_join=heard.permit_join,
            band=BAND_2_4_GHZ,
            interpan_open=heard.permit_join if hub_id else None,
        )

    async def _name_beacons(
        self, channel: int, beacons: list[tuple[int, BeaconIndication]]
    ) -> dict[int, str]:
        """Hub ids for beacons on ``channel``: remembered, or learnt by probing."""
        named = {
            i: self._known[(channel, b.pan_id)]
            for i, b in beacons
            if (channel, b.pan_id) in self._known
        }
        asks = {
            (EUI64.from_hex(hub), b.pan_id): i
            for i, b in beacons
            if i not in named
            for hub in self._expected
        }
        if not asks:
            return named
        for hub, pan_id in asks:
            await self._send_probe(channel, hub, pan_id)
        asked = set(asks)
        await self._wait_until(lambda: asked <= self._probe_heard, self.timeouts.probe)
        for key in asked & self._probe_heard:
            named.setdefault(asks[key], str(key[0]))
        self._probe_heard -= asked
        return named

    async def _send_probe(self, channel: int, hub: EUI64, pan_id: int) -> None:
        """Ask ``hub`` on PAN ``pan_id`` to start key establishment, with no certificate:
        whoever holds that address answers (a Terminate, or its own certificate)."""
        assert self.eui is not None
        tsn = next(self._probe_tsns)
        question = InitiateKeyEstablishment(2, 0, 0, bytes(74))
        payload = key_establishment.encode_ke(question, Direction.CLIENT_TO_SERVER, tsn)
        frame = InterPanFrame(
            0, pan_id, hub, INTERPAN_SRC_PAN, self.eui, key_establishment.CLUSTER_ID, payload
        )
        loop = asyncio.get_running_loop()
        until = loop.time() + self.timeouts.probe + self.timeouts.probe_grace
        self._probes[(hub, pan_id)] = (tsn, until)
        await self.send_interpan(channel, frame)

    def _is_probe_answer(self, frame: InterPanFrame) -> bool:
        """An answer to one of our probes (never handed to the stack)."""
        key = (frame.src, frame.src_pan)
        asked = self._probes.get(key)
        if asked is None or frame.cluster_id != key_establishment.CLUSTER_ID:
            return False
        tsn, until = asked
        if asyncio.get_running_loop().time() > until:
            del self._probes[key]
            return False
        try:
            header = ZclHeader.read(Reader(frame.payload, "ZCL header"))
        except FrameError:
            return False
        return header.tsn == tsn and header.direction == Direction.SERVER_TO_CLIENT

    async def _wait_until(self, done: Callable[[], bool], timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while not done():
            self._alive()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._wake.wait()

    # ------------------------------------------------------------ Inter-PAN
    async def _start_interpan(self, channel: int, *, scan: bool = False) -> None:
        api = await self._stick()
        if self._has_interpan is False:
            raise RadioError(ErrorCode.RADIO_FAULT, NO_INTERPAN)
        if not scan and self._interpan_channel == channel:
            return
        timeout = self.timeouts.scan_channel if scan else self.timeouts.command
        body = InterPanStart(channel, scan).to_bytes()
        try:
            answer = await self._guard(
                "START_INTERPAN",
                api.extra_command(ExtraCommand.START_INTERPAN, body, timeout),
            )
        except RadioError as exc:
            if self._api is None:
                raise
            # firmware that does not know a command stays silent
            raise RadioError(
                ErrorCode.RADIO_FAULT, f"{NO_INTERPAN} (no answer to START_INTERPAN)"
            ) from exc
        self._check_interpan_answer(answer, f"the ConBee would not listen on channel {channel}")
        self._has_interpan = True
        self._interpan_channel = channel

    def _check_interpan_answer(self, answer: Any, refused: str) -> None:
        """Raise unless the stick accepted an Inter-PAN command; firmware without the
        Inter-PAN commands is remembered as such."""
        if answer.status == Status.UNSUPPORTED:
            self._has_interpan = False
            raise RadioError(ErrorCode.RADIO_FAULT, NO_INTERPAN)
        if answer.status != Status.SUCCESS:
            raise RadioError(ErrorCode.RADIO_FAULT, f"{refused} (status {answer.status:#04x})")

    async def send_interpan(
        self, channel: int, frame: InterPanFrame, band: str = BAND_2_4_GHZ
    ) -> None:
        if band != BAND_2_4_GHZ or channel not in CHANNELS_2_4:
            raise RadioError(
                ErrorCode.BAND_UNSUPPORTED, f"a ConBee has no channel {channel} on {band}"
            )
        if self.eui is not None and frame.src != self.eui:
            log.debug("Inter-PAN frame leaves from the stick's %s, not %s", self.eui, frame.src)
        await self._start_interpan(channel)
        api = self._alive()
        request_id = self._request_id(self._interpan_confirms)
        body = InterPanRequest.for_frame(request_id, channel, frame).to_bytes()
        try:
            answer = await self._guard(
                "SEND_INTERPAN",
                api.extra_command(ExtraCommand.SEND_INTERPAN, body, self.timeouts.command),
            )
            self._check_interpan_answer(answer, "the ConBee refused an Inter-PAN frame")
            status = await self._confirm(self._interpan_confirms, request_id)
        finally:
            self._interpan_confirms.pop(request_id, None)
        if status is None:
            self._alive()
            log.info("no confirm for Inter-PAN frame %d on channel %d", request_id, channel)
        elif status != 0:
            log.info("Inter-PAN frame on channel %d not sent (status %#04x)", channel, status)

    async def receive_interpan(self, timeout: float) -> ReceivedInterPan | None:
        await self._stick()
        return await self._next(self._interpan_in, timeout)

    # ------------------------------------------------------------ joined
    async def join(self, extended_pan_id: str, link_key: bytes) -> None:
        api = await self._stick()
        hub = EUI64.from_hex(extended_pan_id)
        hub_id = str(hub)
        if len(link_key) != 16:
            raise ValueError("a link key has 16 octets")
        if self._joined is not None or self._network_state() != NetworkState2.OFFLINE:
            await self.leave()
        self._interpan_channel = None
        channel = self._heard_on.get(hub_id)
        mask = zt.Channels.from_channel_list([channel] if channel else list(CHANNELS_2_4))
        writes: list[tuple[NetworkParameter, Any]] = [
            (NetworkParameter.aps_designed_coordinator, DESIGNED_COORDINATOR),
            (NetworkParameter.security_mode, JOIN_SECURITY_MODE),
            (NetworkParameter.trust_center_address, _zigpy_eui(hub)),
            (NetworkParameter.link_key, LinkKey(ieee=_zigpy_eui(hub), key=zt.KeyData(link_key))),
            (NetworkParameter.aps_extended_panid, zt.ExtendedPanId.deserialize(hub.le)[0]),
            (NetworkParameter.channel_mask, mask),
        ]
        for parameter, value in writes:
            await self._guard(
                f"WRITE_PARAMETER {parameter.name}", api.write_parameter(parameter, value)
            )
        await self._guard("CHANGE_NETWORK_STATE", api.change_network_state(NetworkState.CONNECTED))
        if not await self._await_network(api):
            code = ErrorCode.KEY_ESTABLISHMENT_REFUSED if channel else ErrorCode.NOT_FOUND
            raise RadioError(code, f"hub {hub_id} did not let the ConBee join its network")
        self._joined = hub_id
        self._aps_in.clear()
        self._outgoing = Reassembler()
        await self._learn_network(api, hub_id)

    async def install_link_key(self, peer: EUI64, key: bytes) -> None:
        """WRITE_PARAMETER link key for ``peer``: the stick APS-secures frames to it with
        ``key`` from now on."""
        if len(key) != LINK_KEY_OCTETS:
            raise ValueError(f"a link key has {LINK_KEY_OCTETS} octets, not {len(key)}")
        api = self._alive()
        value = LinkKey(ieee=_zigpy_eui(peer), key=zt.KeyData(key))
        await self._guard(
            f"the link key for {peer}", api.write_parameter(NetworkParameter.link_key, value)
        )
        log.info("link key for %s written to the ConBee", peer)

    async def _await_network(self, api: DeconzApi) -> bool:
        """Wait for the stick to say connected; False when it gave up (back offline)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeouts.join
        joining = False
        while loop.time() < deadline:
            state = await self._guard("DEVICE_STATE", api.refresh_device_state())
            if state.network_state == NetworkState2.CONNECTED:
                return True
            if state.network_state == NetworkState2.JOINING:
                joining = True
            elif joining and state.network_state == NetworkState2.OFFLINE:
                return False
            await asyncio.sleep(self.timeouts.join_poll)
        await self._quietly_go_offline(api)
        return False

    async def _learn_network(self, api: DeconzApi, hub_id: str) -> None:
        """Remember the hub's channel and PAN, to name its beacon after its window closed."""
        try:
            channel = await api.read_parameter(NetworkParameter.current_channel)
            pan_id = await api.read_parameter(NetworkParameter.nwk_panid)
        except Exception as exc:  # noqa: BLE001 - only a convenience for later scans
            log.info("could not read the network the ConBee joined: %r", exc)
            return
        self._known[(int(channel), int(pan_id))] = hub_id
        self._heard_on[hub_id] = int(channel)

    def _require_joined(self, destination: str) -> str:
        self._alive()
        hub_id = destination.upper()
        if self._joined is None or self._joined != hub_id:
            raise RadioError(ErrorCode.NOT_CONNECTED, f"not joined to {destination}")
        if self.link_down:
            raise RadioError(ErrorCode.LINK_LOST, "the ConBee lost the hub's network")
        return hub_id

    async def send_aps(self, destination: str, frame: ApsFrame, *, secure: bool = False) -> None:
        hub_id = self._require_joined(destination)
        header = frame.header
        if header.frame_type == ApsFrameType.ACK:
            self.firmware_acks += 1  # the stick acknowledges incoming blocks itself
            return
        if header.frame_type != ApsFrameType.DATA or header.cluster_id is None:
            log.info("the ConBee sends APS data only; dropping a %s frame", header.frame_type.name)
            return
        if header.fragmentation == Fragmentation.NONE:
            await self._data_request(hub_id, header, frame.payload, secure)
            return
        try:
            whole = self._outgoing.feed(hub_id, frame)
        except FrameError as exc:
            raise ValueError(f"APS block the stack should not have made: {exc}") from exc
        index = block_index(header)
        first = index // APS_WINDOW * APS_WINDOW
        if whole is None:
            transfer = self._outgoing.transfer(hub_id, header.counter)
            if transfer is not None and (index + 1) % APS_WINDOW == 0:
                self._give_ack(hub_id, header, first, transfer.ack_bitfield(first, APS_WINDOW))
            return
        await self._data_request(hub_id, header, whole, secure)
        self._give_ack(hub_id, header, first, 0xFF)

    def _give_ack(self, hub_id: str, header: ApsHeader, first: int, bits: int) -> None:
        """The stack's blocks are with the stick: acknowledge them as the hub would."""
        self._aps_in.appendleft(ReceivedAps(hub_id, ApsFrame(ack_header(header, first, bits))))
        self._poke()

    async def _data_request(
        self, hub_id: str, header: ApsHeader, payload: bytes, secure: bool
    ) -> None:
        api = self._alive()
        options = _tx_options(len(payload), secure)
        destination = dt.DeconzAddressEndpoint(
            address_mode=dt.AddressMode.IEEE,
            address=_zigpy_eui(EUI64.from_hex(hub_id)),
            endpoint=header.dst_endpoint or 0,
        )
        request_id = self._request_id(self._tx_confirms)
        try:
            await self._guard(
                "APS data request",
                api.aps_data_request(
                    request_id,
                    destination,
                    header.profile_id or SMART_ENERGY_PROFILE,
                    header.cluster_id,
                    header.src_endpoint or 0,
                    zt.LongOctetString(payload),
                    tx_options=options,
                ),
            )
            status = await self._confirm(self._tx_confirms, request_id, joined=True)
        finally:
            self._tx_confirms.pop(request_id, None)
        self._alive()
        if status is None:
            raise RadioError(ErrorCode.LINK_LOST, f"no delivery confirm for hub {hub_id}")
        if status != 0:
            raise RadioError(
                ErrorCode.LINK_LOST, f"the ConBee could not deliver to hub {hub_id} ({status:#04x})"
            )

    async def receive_aps(self, timeout: float) -> ReceivedAps | None:
        self._alive()
        return await self._next(self._aps_in, timeout, joined=self._joined is not None)

    async def leave(self) -> None:
        joined, self._joined = self._joined, None
        self._aps_in.clear()
        self._outgoing = Reassembler()
        api = self._api
        if api is None or (joined is None and self._network_state() == NetworkState2.OFFLINE):
            return
        await self._quietly_go_offline(api)

    async def _quietly_go_offline(self, api: DeconzApi) -> None:
        with contextlib.suppress(RadioError):
            await self._guard(
                "CHANGE_NETWORK_STATE", api.change_network_state(NetworkState.OFFLINE)
            )

    async def close(self) -> None:
        if self._closed:
            return
        await self.leave()
        self._closed = True
        await self._drop_api()
