"""The ``sim`` radio driver: a radio in range of the simulated HAN (:mod:`webapp.sim.han`).

Timing is modelled, not measured: scans, the connection stages and the airtime of every
message (:mod:`webapp.sim.han.link`) are sim seconds, waited for as ``seconds / time_scale``
real seconds.  The ``timeout`` of :meth:`SimHubLink.receive` is in real seconds, like every
driver's.

Messages for the HHT stay held at the hub until acknowledged with :meth:`SimHubLink.ack`
(after the HHT has committed them).  A link hands each held message out once; a new link
(after a reconnect) offers every unacknowledged one again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

from webapp.sim.han.hub import Route
from webapp.sim.han.link import LinkDropped, LinkModel
from webapp.sim.han.scenario import CHANNELS
from webapp.zigbee.drivers.base import (
    BAND_2_4_GHZ,
    Beacon,
    ConnectStage,
    ErrorCode,
    HubLink,
    RadioDriver,
    RadioError,
    RadioInfo,
    StageCallback,
)

if TYPE_CHECKING:
    from webapp.sim.han.han import SimHan

log = logging.getLogger(__name__)

# Active scan with scan duration 3: (2^3 + 1) superframes of 15.36 ms per channel.
SCAN_SECONDS_PER_CHANNEL = 0.138
#: Modelled sim seconds per connection stage (each varied by +-20% from the driver's seed).
STAGE_SECONDS: dict[ConnectStage, float] = {
    ConnectStage.INTERPAN_KEY_ESTABLISHMENT: 2.5,
    ConnectStage.SEND_INSTALL_CODE: 0.4,
    ConnectStage.JOIN_HAN: 1.2,
    ConnectStage.HAN_KEY_ESTABLISHMENT: 2.5,
    ConnectStage.OPEN_TUNNEL: 0.3,
    ConnectStage.READY: 0.0,
}
STAGE_JITTER = (0.8, 1.2)
GET_REQUEST_BYTES = 1  # GB-HRGP GET
RECEIVE_POLL_REAL_SECONDS = 0.02


class SimHubLink(HubLink):
    """A GB-HRGP tunnel to one simulated hub."""

    def __init__(self, han: SimHan, hub_id: str, boots: int, model: LinkModel) -> None:
        self.hub_id = hub_id
        self.band = model.band
        self._han = han
        self._boots = boots
        self._model = model
        self._open = True
        self._handed: set[int] = set()

    # ------------------------------------------------------------ state
    def _hub_restarted(self) -> bool:
        hub = self._han.hubs.hub(self.hub_id)
        return hub is None or hub["boots"] != self._boots

    @property
    def is_open(self) -> bool:
        return self._open and not self._model.dropped and not self._hub_restarted()

    @property
    def frames_sent(self) -> int:
        return self._model.frames_sent

    def _check(self) -> None:
        if not self._open:
            raise RadioError(ErrorCode.NOT_CONNECTED, "the link was closed")
        if self._model.dropped:
            self._open = False
            raise RadioError(ErrorCode.LINK_LOST, f"link to hub {self.hub_id} dropped")
        if self._hub_restarted():
            self._open = False
            raise RadioError(ErrorCode.LINK_LOST, f"hub {self.hub_id} restarted")

    def drop_link(self, after_frames: int = 0) -> None:
        """Simulate the link dropping now, or after ``after_frames`` more frames."""
        self._model.drop(after_frames)

    async def _carry(self, n_bytes: int) -> None:
        try:
            airtime = self._model.transfer(n_bytes)
        except LinkDropped as exc:
            self._open = False
            raise RadioError(ErrorCode.LINK_LOST, str(exc)) from exc
        await self._han.clock.sleep(airtime)

    # ------------------------------------------------------------ HubLink
    async def put(self, message: bytes) -> None:
        self._check()
        await self._carry(len(message))
        self._check()
        self._han.hubs.submit(self.hub_id, bytes(message), Route.HHT)

    async def receive(self, timeout: float) -> bytes | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        hubs, clock = self._han.hubs, self._han.clock
        while True:
            self._check()
            hubs.pump()
            waiting = hubs.outbox_waiting(self.hub_id, exclude=self._handed)
            if waiting:
                return await self._deliver(waiting[0])
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            pause = min(remaining, RECEIVE_POLL_REAL_SECONDS)
            next_due = hubs.next_due()
            if next_due is not None:
                pause = min(pause, clock.to_real(next_due - clock.now()))
            await asyncio.sleep(pause)

    async def get(self) -> list[bytes]:
        self._check()
        await self._carry(GET_REQUEST_BYTES)
        self._han.hubs.pump()
        return [
            await self._deliver(row)
            for row in self._han.hubs.outbox_waiting(self.hub_id, exclude=self._handed)
        ]

    async def _deliver(self, row: dict) -> bytes:
        raw = bytes(row["raw"])
        await self._carry(len(raw))
        self._check()
        self._handed.add(row["id"])
        self._han.hubs.mark_delivered(row["id"])
        return raw

    async def ack(self, message: bytes) -> bool:
        """The HHT has committed ``message``: the hub stops holding it (works after a drop
        too; False when the hub holds no such message)."""
        return self._han.hubs.ack(self.hub_id, bytes(message))

    async def hub_time(self) -> tuple[float, bool] | None:
        """Simulated hubs keep the host's time, synchronised while their WAN is up (in fast
        mode only durations run faster; the clock they report is the real one)."""
        import time

        hub = self._han.hubs.hub(self.hub_id)
        return time.time(), bool(hub and hub["wan_up"])

    async def close(self) -> None:
        self._open = False


class SimDriver(RadioDriver):
    """A radio standing at one simulated site."""

    def __init__(
        self,
        han: SimHan,
        *,
        position: str | None = None,
        bands: frozenset[str] | None = None,
        frame_loss: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.han = han
        self.position = position
        self.frame_loss = frame_loss
        bands = frozenset(bands or {BAND_2_4_GHZ})
        self.info = RadioInfo(
            kind="sim",
            description=f"Simulated radio ({', '.join(sorted(bands))})",
            firmware="hht-sim 1",
            bands=bands,
        )
        self._rng = random.Random(han.seed if seed is None else seed)
        self._links: list[SimHubLink] = []
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise RadioError(ErrorCode.RADIO_FAULT, "the simulated radio was closed")

    def move_to(self, hub_id: str) -> None:
        """Stand at the site of hub ``hub_id``; an unknown hub leaves the radio where it is."""
        site = self.han.air.site_of(hub_id)
        if site is None:
            log.info("no simulated site with hub %s; the radio stays where it is", hub_id)
            return
        self.position = site

    async def active_scan(self, channels: list[int] | None = None) -> list[Beacon]:
        self._check_open()
        if channels is None:
            count = sum(CHANNELS[b][1] - CHANNELS[b][0] + 1 for b in self.info.bands)
        else:
            count = len(channels)
        await self.han.clock.sleep(SCAN_SECONDS_PER_CHANNEL * count)
        heard = self.han.air.beacons(self.position, self.info.bands, self.han.clock.now())
        if channels is not None:
            wanted = set(channels)
            heard = [b for b in heard if b.channel in wanted]
        return heard

    async def connect(self, hub_id: str, on_stage: StageCallback | None = None) -> SimHubLink:
        self._check_open()
        hub = self.han.air.check_connect(
            self.position, hub_id, self.info.bands, self.han.clock.now()
        )
        for stage in ConnectStage:
            if on_stage is not None:
                on_stage(stage)
            await self.han.clock.sleep(STAGE_SECONDS[stage] * self._rng.uniform(*STAGE_JITTER))
        model = LinkModel(
            band=hub["band"], frame_loss=self.frame_loss, seed=self._rng.getrandbits(32)
        )
        link = SimHubLink(self.han, hub["hub_id"], hub["boots"], model)
        self._links.append(link)
        log.info("connected to simulated hub %s", hub["hub_id"])
        return link

    async def close(self) -> None:
        for link in self._links:
            await link.close()
        self._links.clear()
        self._closed = True
