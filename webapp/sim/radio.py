"""The ``sim`` radio at frame level: a radio on the simulated medium at one site.

Every frame the HHT sends is a whole 802.15.4 frame in bytes, as a stick's firmware would
put it on the air: beacon requests, Inter-PAN frames, the association MAC commands of a
join, and data frames under NWK security (the network key the hub hands over in the join's
Transport Key, under the key-transport key of the install-code link key), with APS security
under the link key the stick holds for the hub where the stack asks for it
(:mod:`webapp.sim.node`).  Each costs its airtime on the simulated medium
(:mod:`webapp.sim.medium`: 2.4 GHz or 868 MHz with listen-before-talk and duty cycle, loss,
a drop at frame N), and is decoded by the simulated hubs in range (:mod:`webapp.sim.han.hub_radio`),
whose answers come back the same way.  A frame lost on its first try is retried by the MAC
up to ``MAC_MAX_RETRIES`` times; one lost on every try takes the link down, like a drop
at frame N: nothing passes until the radio joins again, and the radio reports the network
lost, as a stick reports its parent lost.

The stick's outgoing NWK and APS frame counters are kept in ``counters_dir`` when one is
given (the terminal's data directory), so a restart never reuses one.  With a ``capture``
set, every frame the radio sends and hears goes into it, MAC acknowledgements included.

Sim seconds are waited for as ``seconds / time_scale`` real seconds; receive timeouts are
real seconds, like every driver's.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from webapp.sim.join import JoinError, join_network
from webapp.sim.medium import FrameDropped, Medium, channels_of, lqi_for
from webapp.sim.node import CounterSource, MemoryCounter, NodeLayers, mac_ack
from webapp.zigbee.drivers.base import (
    BAND_2_4_GHZ,
    BAND_868_MHZ,
    Beacon,
    ErrorCode,
    RadioError,
    RadioInfo,
)
from webapp.zigbee.drivers.frames_base import FrameRadio, ReceivedAps, ReceivedInterPan
from webapp.zigbee.frames.aps import ApsFrame
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.frames.mac import BeaconFrame, beacon_request
from webapp.zigbee.sizes import COORDINATOR_SHORT, FCS_LENGTH, MAX_APS_FRAME
from webapp.zigbee.types import EUI64, FrameError

if TYPE_CHECKING:
    from webapp.sim.han.han import SimHan
    from webapp.sim.han.hub_radio import HubEndpoint

log = logging.getLogger(__name__)

MAC_MAX_RETRIES = 3
#: Active scan with scan duration 3: (2^3 + 1) superframes of 15.36 ms per channel.
SCAN_SECONDS_PER_CHANNEL = 0.138
RECEIVE_POLL_REAL_SECONDS = 0.02
SIM_HHT_EUI = EUI64.from_hex("70B3D5FFFE00A001")
#: The channel page of each band in a capture (GB smart metering's 868 MHz is page 28).
PAGE_OF_BAND: dict[str, int] = {BAND_2_4_GHZ: 0, BAND_868_MHZ: 28}
NWK_COUNTER_FILE = "nwk-frame-counter"
APS_COUNTER_FILE = "aps-frame-counter"


def _counter(han: SimHan, eui: EUI64, directory: Path | None, name: str) -> CounterSource:
    """The stick's outgoing frame counter ``name``: in ``directory`` (the terminal's data),
    else kept by the HAN for this stick, as a stick keeps it in flash."""
    if directory is None:
        found = han.stick_counters.setdefault((str(eui), name), MemoryCounter())
        assert isinstance(found, MemoryCounter)
        return found
    from webapp.zigbee.security.counters import OutgoingCounter

    return OutgoingCounter(directory / name)


@dataclass
class StickFaults:
    """Firmware faults the simulated stick can be given, each refused by a real hub."""

    ignore_link_keys: bool = False  # takes install_link_key, keeps the join's key
    stale_nwk_counter: bool = False  # sends data frames with a counter it already used
    flip_mic: bool = False  # one bit of each data frame's MIC flipped


@dataclass(order=True)
class _Due:
    due: float
    order: int
    item: object


class SimFrameRadio(FrameRadio):
    """A frame-level radio standing at one simulated site (``None``: everywhere)."""

    records_air = True

    def __init__(
        self,
        han: SimHan,
        *,
        position: str | None = None,
        bands: frozenset[str] | None = None,
        frame_loss: float = 0.0,
        seed: int | None = None,
        eui: EUI64 = SIM_HHT_EUI,
        counters_dir: Path | None = None,
    ) -> None:
        self.han = han
        self.position = position
        self.eui = eui
        bands = frozenset(bands or {BAND_2_4_GHZ})
        self.info = RadioInfo(
            kind="sim",
            description=f"Simulated radio ({', '.join(sorted(bands))})",
            firmware="hht-sim 2 (frame level)",
            bands=bands,
        )
        rng = random.Random(han.seed if seed is None else seed)
        self.medium = Medium(frame_loss=frame_loss, seed=rng.getrandbits(32))
        self._order = itertools.count()
        self._interpan: list[_Due] = []
        self._aps: list[_Due] = []
        self._joined: HubEndpoint | None = None
        self._band = BAND_2_4_GHZ
        self._heard_on: dict[str, str] = {}  # hub id -> band of the last Inter-PAN frame
        self._down = False
        self._closed = False
        self._unplugged = False
        self._needs_reopen = False
        self._seq = 0
        self._link_keys: dict[EUI64, bytes] = {}  # the stick's APS key table
        self.faults = StickFaults()
        self.layers = NodeLayers(
            eui,
            link_key_for=self._link_keys.get,
            nwk_counter=_counter(han, eui, counters_dir, NWK_COUNTER_FILE),
            aps_counter=_counter(han, eui, counters_dir, APS_COUNTER_FILE),
        )
        self._channel = 0
        self._rssi = 0
        #: Every key this stick has used (network and link keys), for a capture's keys file.
        self.keys_used: list[bytes] = []

    # ------------------------------------------------------------ simulation controls
    def move_to(self, hub_id: str) -> None:
        site = self.han.air.site_of(hub_id)
        if site is None:
            log.info("no simulated site with hub %s; the radio stays where it is", hub_id)
            return
        self.position = site

    def drop_after(self, frames: int = 0) -> None:
        """The link drops after ``frames`` more frames (0: now)."""
        if frames <= 0:
            self._down = True
        self.medium.drop_at_frame = self.medium.frames_sent + max(frames, 0) + 1

    @property
    def frames_sent(self) -> int:
        return self.medium.frames_sent

    @property
    def link_down(self) -> bool:
        return self._down

    def acknowledge(self, hub_id: str, message: bytes) -> bool:
        """The HHT has stored ``message``: the simulated hub stops holding it."""
        return self.han.hubs.ack(hub_id, message)

    # ------------------------------------------------------------ air
    def _check(self) -> None:
        if self._closed:
            raise RadioError(ErrorCode.RADIO_FAULT, "the simulated radio was closed")
        if self._unplugged or self._needs_reopen:
            raise RadioError(ErrorCode.STICK_UNPLUGGED, "the simulated stick is unplugged")

    def unplug(self) -> None:
        """Simulate pulling the stick out: every call fails until it is back and reopened."""
        self._unplugged = self._needs_reopen = True

    def replug(self) -> None:
        """The stick is back in its socket (the driver still has to reopen it)."""
        self._unplugged = False

    @property
    def available(self) -> bool:
        return not self._needs_reopen and not self._closed

    async def reopen(self) -> None:
        if self._closed:
            raise RadioError(ErrorCode.RADIO_FAULT, "the simulated radio was closed")
        if self._unplugged:
            raise RadioError(ErrorCode.STICK_UNPLUGGED, "the simulated stick is unplugged")
        self._needs_reopen = False
        self._joined, self._down = None, False
        self._aps.clear()
        self._interpan.clear()

    async def _wait_until(self, instant: float) -> None:
        """Wait until sim instant ``instant``; afterwards sim time is at least that, even
        on a clock that stands still (tests)."""
        clock = self.han.clock
        await clock.sleep(instant - clock.now())
        clock.not_before(instant)

    def _record(
        self, raw: bytes, at: float, band: str, channel: int, *, heard: bool, rssi: int = 0
    ) -> None:
        if self.capture is not None:
            self.capture.record(
                raw,
                at=at,
                channel=channel,
                page=PAGE_OF_BAND.get(band, 0),
                rssi=float(rssi) if heard else None,
                direction="in" if heard else "out",
            )

    async def _on_air(
        self,
        sender: str,
        raw: bytes,
        band: str,
        at: float | None = None,
        *,
        joined: bool = True,
        channel: int | None = None,
        rssi: int = 0,
    ) -> float | None:
        """Put frame ``raw`` (MAC header to payload, no FCS) on the air with MAC retries,
        from ``at`` (default: now; the HHT then waits for it); the sim instant the exchange
        ended, or None for a frame that was never heard.  A frame lost on every try takes
        the link down (RadioError LINK_LOST).  The capture gets each try the HHT makes,
        each frame it hears, and the MAC acknowledgement of each unicast that arrives."""
        clock = self.han.clock
        mine = at is None
        channel = self._channel if channel is None else channel
        start = clock.now() if at is None else at
        psdu = len(raw) + FCS_LENGTH
        acked = len(raw) > 1 and bool(raw[0] & 0x20)
        for _attempt in range(MAC_MAX_RETRIES + 1):
            try:
                sent = self.medium.transmit(sender, psdu, band, start, queued=not mine)
            except FrameDropped as exc:
                self._down = True
                raise RadioError(ErrorCode.LINK_LOST, str(exc)) from exc
            start = sent.end
            if mine:
                self._record(raw, sent.start, band, channel, heard=False)
            if sent.delivered:
                if not mine:
                    self._record(
                        raw, sent.start + sent.airtime, band, channel, heard=True, rssi=rssi
                    )
                if acked:
                    ack = mac_ack(raw[2])
                    self._record(ack, sent.end, band, channel, heard=mine, rssi=rssi)
                break
        else:
            if not joined:
                if mine:
                    await self._wait_until(start)
                return None  # Inter-PAN and scans: that frame is simply gone
            # lost on every try: the sender gives up on its neighbour, the link is down
            self._down = True
        if mine:
            await self._wait_until(start)
        if self._down:
            raise RadioError(ErrorCode.LINK_LOST, f"a frame from {sender} was lost on every try")
        return sent.end

    def _queue(self, box: list[_Due], due: float, item: object) -> None:
        heapq.heappush(box, _Due(due, next(self._order), item))

    async def _take(self, box: list[_Due], timeout: float, poll: bool) -> object | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        clock = self.han.clock
        while True:
            self._check()
            if poll:
                await self._collect_pushes()
            if box and box[0].due <= clock.now():
                return heapq.heappop(box).item
            if self._down and poll:
                raise RadioError(ErrorCode.LINK_LOST, "the network was lost")
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            if box and clock.to_real(box[0].due - clock.now()) <= remaining:
                # wait for the frame to finish arriving; it is then here, whatever the clock
                # says (a test's clock may stand still)
                await self._wait_until(box[0].due)
                return heapq.heappop(box).item
            await asyncio.sleep(min(remaining, RECEIVE_POLL_REAL_SECONDS))

    # ------------------------------------------------------------ scan
    async def active_scan(self, channels: list[int] | None = None) -> list[Beacon]:
        self._check()
        wanted = [
            (band, channel)
            for band in sorted(self.info.bands)
            for channel in channels_of(band)
            if channels is None or channel in channels
        ]
        heard: list[Beacon] = []
        now = self.han.clock.now()
        frames = self.han.frames.beacon_frames(self.position, now)
        for band, channel in wanted:
            self._seq = (self._seq + 1) & 0xFF
            request = beacon_request(self._seq)
            await self._on_air(str(self.eui), request, band, joined=False, channel=channel)
            at = self.han.clock.now()
            for on_band, on_channel, rssi, raw in frames:
                if (on_band, on_channel) != (band, channel):
                    continue
                self._record(raw, at, band, channel, heard=True, rssi=rssi)
                try:
                    beacon = BeaconFrame.from_bytes(raw)
                except FrameError as exc:
                    log.info("undecodable beacon on channel %d: %s", channel, exc)
                    continue
                epid = beacon.extended_pan_id
                if epid is None:
                    continue
                permit = beacon.superframe.association_permit
                heard.append(
                    Beacon(
                        channel=channel,
                        pan_id=beacon.src_pan,
                        extended_pan_id=str(epid),
                        lqi=lqi_for(rssi),
                        rssi=rssi,
                        permit_join=permit,
                        band=band,
                        interpan_open=permit,
                    )
                )
            await self.han.clock.sleep(SCAN_SECONDS_PER_CHANNEL)
        heard.sort(key=lambda b: (-b.rssi, b.extended_pan_id, b.pan_id))
        return heard

    # ------------------------------------------------------------ Inter-PAN
    async def send_interpan(
        self, channel: int, frame: InterPanFrame, band: str = BAND_2_4_GHZ
    ) -> None:
        self._check()
        if band not in self.info.bands or channel not in channels_of(band):
            raise RadioError(ErrorCode.BAND_UNSUPPORTED, f"channel {channel} is not on this radio")
        raw = frame.to_bytes()
        if len(raw) + FCS_LENGTH > 127:
            raise ValueError(f"Inter-PAN frame of {len(raw)} octets does not fit one frame")
        sent = await self._on_air(str(self.eui), raw, band, joined=False, channel=channel)
        if sent is None:
            return
        decoded = InterPanFrame.from_bytes(raw)
        now = self.han.clock.now()
        self._heard_on[str(decoded.dst)] = band
        listeners = self.han.frames.interpan_listeners(self.position, band, channel, now)
        for endpoint, rssi in listeners:
            if endpoint.address != decoded.dst or endpoint.pan_id != decoded.dst_pan:
                continue
            for delay, reply in endpoint.on_interpan(decoded, now):
                await self._deliver_interpan(endpoint.name, reply, rssi, band, channel, now + delay)

    async def _deliver_interpan(
        self, sender: str, reply: InterPanFrame, rssi: int, band: str, channel: int, at: float
    ) -> None:
        raw = reply.to_bytes()
        end = await self._on_air(sender, raw, band, at, joined=False, channel=channel, rssi=rssi)
        if end is not None:
            frame = InterPanFrame.from_bytes(raw)
            self._queue(self._interpan, end, ReceivedInterPan(frame, lqi_for(rssi), rssi))

    def inject_interpan(self, frame: InterPanFrame, rssi: int, at: float) -> None:
        """Something else on the air sends the HHT an Inter-PAN frame (spoofers, tests)."""
        raw = frame.to_bytes()
        self._queue(
            self._interpan, at, ReceivedInterPan(InterPanFrame.from_bytes(raw), lqi_for(rssi), rssi)
        )

    async def receive_interpan(self, timeout: float) -> ReceivedInterPan | None:
        now = self.han.clock.now()
        for frame, rssi in self.han.frames.interpan_noise(self.position, self.eui, now):
            self.inject_interpan(frame, rssi, now)
        item = await self._take(self._interpan, timeout, poll=False)
        assert item is None or isinstance(item, ReceivedInterPan)
        return item

    # ------------------------------------------------------------ joined
    def _use_key(self, key: bytes) -> None:
        if key not in self.keys_used:
            self.keys_used.append(key)

    async def join(self, extended_pan_id: str, link_key: bytes) -> None:
        self._check()
        endpoint = self.han.frames.endpoint(extended_pan_id)
        hub = None if endpoint is None else endpoint.row()
        bands = set() if hub is None else self.han.frames.hub_bands(hub) & self.info.bands
        if endpoint is None or hub is None or not bands:
            raise RadioError(ErrorCode.NOT_FOUND, f"no network {extended_pan_id} to join")
        # the band the hub was last reached on, else 2.4 GHz (faster) where both will do
        last = self._heard_on.get(extended_pan_id.upper())
        self._band = last if last in bands else min(bands)
        self._channel = dict(self.han.frames.hub_channels(hub))[self._band]
        self._rssi = hub["rssi"]
        self._down = False
        self.medium.drop_at_frame = None
        self._aps.clear()
        self._joined = None
        self._use_key(link_key)
        try:
            network_key = await join_network(self, endpoint, hub["pan_id"], link_key)
        except JoinError as exc:
            raise RadioError(
                ErrorCode.JOIN_REFUSED,
                f"hub {extended_pan_id} did not let this terminal join: {exc}",
            ) from exc
        self._use_key(network_key)
        self._joined = endpoint
        # the install-code key is the trust centre link key until key establishment
        self._link_keys[endpoint.eui] = link_key

    async def exchange(self, endpoint: HubEndpoint, raw: bytes) -> list[bytes]:
        """Send ``raw`` to the joined (or joining) hub; the frames it answers with, each
        after it has arrived (the join's own frames come this way)."""
        await self._on_air(str(self.eui), raw, self._band)
        now = self.han.clock.now()
        heard: list[bytes] = []
        for delay, reply in endpoint.on_frame(raw, now):
            end = await self._on_air(endpoint.name, reply, self._band, now + delay, rssi=self._rssi)
            if end is not None:
                await self._wait_until(end)
                heard.append(reply)
        return heard

    async def install_link_key(self, peer: EUI64, key: bytes) -> None:
        self._check()
        if len(key) != 16:
            raise ValueError(f"a link key has 16 octets, not {len(key)}")
        self._use_key(bytes(key))
        if self.faults.ignore_link_keys:
            log.info("the sim stick takes the key for %s and keeps using the old one", peer)
            return
        self._link_keys[peer] = bytes(key)

    async def send_aps(self, destination: str, frame: ApsFrame, *, secure: bool = False) -> None:
        self._check()
        endpoint = self._joined
        if endpoint is None or endpoint.hub_id != destination.upper():
            raise RadioError(ErrorCode.NOT_CONNECTED, f"not joined to {destination}")
        if self._down:
            raise RadioError(ErrorCode.LINK_LOST, "the network was lost")
        key = self._link_keys.get(endpoint.eui) if secure else None
        if secure and key is None:
            raise RadioError(
                ErrorCode.RADIO_FAULT, f"the stick holds no link key for {destination}"
            )
        aps = self.layers.aps_bytes(frame, key)
        if len(aps) > MAX_APS_FRAME:
            raise ValueError(f"APS frame of {len(aps)} octets is over {MAX_APS_FRAME}")
        raw = self._faulty_data_frame(aps)
        await self._on_air(str(self.eui), raw, self._band)
        now = self.han.clock.now()
        for delay, reply in endpoint.on_frame(raw, now):
            await self._deliver_aps(endpoint, reply, now + delay)

    def _faulty_data_frame(self, aps: bytes) -> bytes:
        """The data frame carrying ``aps`` to the hub, as the stick's faults make it."""
        stale = self.layers.last_nwk_counter if self.faults.stale_nwk_counter else None
        raw = self.layers.data_frame(COORDINATOR_SHORT, aps, frame_counter=stale)
        if self.faults.flip_mic:
            raw = raw[:-1] + bytes([raw[-1] ^ 0x01])
        return raw

    async def _deliver_aps(self, endpoint: HubEndpoint, raw: bytes, at: float) -> None:
        end = await self._on_air(endpoint.name, raw, self._band, at, rssi=self._rssi)
        if end is None:
            return
        opened = self.layers.open(raw)
        if opened is None or opened.source != endpoint.eui:
            return
        received = ReceivedAps(endpoint.hub_id, opened.frame, secured=opened.key is not None)
        self._queue(self._aps, end, received)

    async def _collect_pushes(self) -> None:
        endpoint = self._joined
        if endpoint is None or self._down:
            return
        self.han.hubs.pump()
        now = self.han.clock.now()
        for delay, raw in endpoint.pushes(self.eui):
            await self._deliver_aps(endpoint, raw, now + delay)

    async def receive_aps(self, timeout: float) -> ReceivedAps | None:
        item = await self._take(self._aps, timeout, poll=True)
        assert item is None or isinstance(item, ReceivedAps)
        return item

    async def leave(self) -> None:
        self._joined = None
        self._aps.clear()
        self._link_keys.clear()

    async def close(self) -> None:
        await self.leave()
        self._closed = True
