"""The ``sim`` radio at frame level: a radio on the simulated medium at one site.

Every frame the HHT sends is encoded to bytes, costs its airtime on the simulated medium
(:mod:`webapp.sim.medium`: 2.4 GHz or 868 MHz with listen-before-talk and duty cycle, loss,
a drop at frame N), and is decoded by the simulated hubs in range (:mod:`webapp.sim.han.hub_radio`),
whose answers come back the same way.  A frame lost on its first try is retried by the MAC
up to ``MAC_MAX_RETRIES`` times; one lost on every try takes the link down, like a drop
at frame N: nothing passes until the radio joins again, and the radio reports the network
lost, as a stick reports its parent lost.

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
from typing import TYPE_CHECKING

from webapp.sim.medium import FrameDropped, Medium, channels_of, lqi_for
from webapp.zigbee.drivers.base import BAND_2_4_GHZ, Beacon, ErrorCode, RadioError, RadioInfo
from webapp.zigbee.drivers.frames_base import FrameRadio, ReceivedAps, ReceivedInterPan
from webapp.zigbee.frames.aps import ApsFrame
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.frames.mac import BeaconFrame, beacon_request
from webapp.zigbee.sizes import FCS_LENGTH, MAX_APS_FRAME, aps_psdu_length
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
#: Association request/response, then the transport key: frames each way, and their size.
JOIN_EXCHANGES = 3
JOIN_FRAME_OCTETS = 40


@dataclass(order=True)
class _Due:
    due: float
    order: int
    item: object


class SimFrameRadio(FrameRadio):
    """A frame-level radio standing at one simulated site (``None``: everywhere)."""

    def __init__(
        self,
        han: SimHan,
        *,
        position: str | None = None,
        bands: frozenset[str] | None = None,
        frame_loss: float = 0.0,
        seed: int | None = None,
        eui: EUI64 = SIM_HHT_EUI,
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

    async def _on_air(
        self, sender: str, psdu: int, band: str, at: float | None = None, *, joined: bool = True
    ) -> float | None:
        """Put one frame on the air with MAC retries, from ``at`` (default: now; the HHT
        then waits for it); the sim instant the exchange ended.  A frame lost on every try
        takes the link down (RadioError LINK_LOST)."""
        clock = self.han.clock
        mine = at is None
        start = began = clock.now() if at is None else at
        for _attempt in range(MAC_MAX_RETRIES + 1):
            try:
                sent = self.medium.transmit(sender, psdu, band, start)
            except FrameDropped as exc:
                self._down = True
                raise RadioError(ErrorCode.LINK_LOST, str(exc)) from exc
            start = sent.end
            if sent.delivered:
                break
        else:
            if not joined:
                if mine:
                    await clock.sleep(start - began)
                return None  # Inter-PAN and scans: that frame is simply gone
            # lost on every try: the sender gives up on its neighbour, the link is down
            self._down = True
        if mine:
            await clock.sleep(start - began)
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
                await clock.sleep(box[0].due - clock.now())
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
            await self._on_air(str(self.eui), len(request) + FCS_LENGTH, band, joined=False)
            for on_band, on_channel, rssi, raw in frames:
                if (on_band, on_channel) != (band, channel):
                    continue
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
        if await self._on_air(str(self.eui), len(raw) + FCS_LENGTH, band, joined=False) is None:
            return
        decoded = InterPanFrame.from_bytes(raw)
        now = self.han.clock.now()
        self._heard_on[str(decoded.dst)] = band
        listeners = self.han.frames.interpan_listeners(self.position, band, channel, now)
        for endpoint, rssi in listeners:
            if endpoint.address != decoded.dst or endpoint.pan_id != decoded.dst_pan:
                continue
            for delay, reply in endpoint.on_interpan(decoded, now):
                await self._deliver_interpan(endpoint.name, reply, rssi, band, now + delay)

    async def _deliver_interpan(
        self, sender: str, reply: InterPanFrame, rssi: int, band: str, at: float
    ) -> None:
        raw = reply.to_bytes()
        end = await self._on_air(sender, len(raw) + FCS_LENGTH, band, at, joined=False)
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
    async def join(self, extended_pan_id: str, link_key: bytes) -> None:
        self._check()
        endpoint = self.han.frames.endpoint(extended_pan_id)
        hub = None if endpoint is None else endpoint.row()
        bands = set() if hub is None else self.han.frames.hub_bands(hub) & self.info.bands
        if endpoint is None or not bands:
            raise RadioError(ErrorCode.NOT_FOUND, f"no network {extended_pan_id} to join")
        # the band the hub was last reached on, else 2.4 GHz (faster) where both will do
        last = self._heard_on.get(extended_pan_id.upper())
        self._band = last if last in bands else min(bands)
        self._down = False
        self.medium.drop_at_frame = None
        self._aps.clear()
        # association request and response, then the transport key (three frames each way)
        for _ in range(JOIN_EXCHANGES):
            await self._on_air(str(self.eui), JOIN_FRAME_OCTETS, self._band)
            await self._on_air(endpoint.name, JOIN_FRAME_OCTETS, self._band)
        if not endpoint.admits(self.eui, link_key):
            self._joined = None
            raise RadioError(
                ErrorCode.KEY_ESTABLISHMENT_REFUSED,
                f"hub {extended_pan_id} did not let this terminal join",
            )
        self._joined = endpoint

    async def send_aps(self, destination: str, frame: ApsFrame) -> None:
        self._check()
        endpoint = self._joined
        if endpoint is None or endpoint.hub_id != destination.upper():
            raise RadioError(ErrorCode.NOT_CONNECTED, f"not joined to {destination}")
        if self._down:
            raise RadioError(ErrorCode.LINK_LOST, "the network was lost")
        raw = frame.to_bytes()
        if len(raw) > MAX_APS_FRAME:
            raise ValueError(f"APS frame of {len(raw)} octets is over {MAX_APS_FRAME}")
        await self._on_air(str(self.eui), aps_psdu_length(len(raw)), self._band)
        now = self.han.clock.now()
        for delay, reply in endpoint.on_aps(self.eui, ApsFrame.from_bytes(raw), now):
            await self._deliver_aps(endpoint, reply, now + delay)

    async def _deliver_aps(self, endpoint: HubEndpoint, reply: ApsFrame, at: float) -> None:
        raw = reply.to_bytes()
        end = await self._on_air(endpoint.name, aps_psdu_length(len(raw)), self._band, at)
        if end is not None:
            self._queue(self._aps, end, ReceivedAps(endpoint.hub_id, ApsFrame.from_bytes(raw)))

    async def _collect_pushes(self) -> None:
        endpoint = self._joined
        if endpoint is None or self._down:
            return
        self.han.hubs.pump()
        now = self.han.clock.now()
        for delay, frame in endpoint.pushes(self.eui):
            await self._deliver_aps(endpoint, frame, now + delay)

    async def receive_aps(self, timeout: float) -> ReceivedAps | None:
        item = await self._take(self._aps, timeout, poll=True)
        assert item is None or isinstance(item, ReceivedAps)
        return item

    async def leave(self) -> None:
        self._joined = None
        self._aps.clear()

    async def close(self) -> None:
        await self.leave()
        self._closed = True
