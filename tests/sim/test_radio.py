"""The frame-level sim radio and the link over it: airtime, MAC retries and seeded loss, a
drop at a chosen frame, and the hub's outbox for the HHT across drops and reconnects."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import SEED, START
from tests.sim.conftest import RECEIVE_TIMEOUT, connect, run, send_and_receive
from webapp.sim.dcc import build_command
from webapp.sim.han.clock import SimClock
from webapp.sim.han.han import SimHan
from webapp.sim.han.hub_radio import quiet_aps_frame
from webapp.sim.han.scenario import SiteInfo
from webapp.sim.medium import Medium
from webapp.sim.radio import SimFrameRadio
from webapp.zigbee.drivers.base import BAND_2_4_GHZ, ErrorCode, RadioError
from webapp.zigbee.sizes import (
    MAX_APS_BLOCK,
    MAX_APS_FRAME,
    aps_psdu_length,
)

#: GB-HRGP byte, ZCL header (3) and tunnel id (2) in front of every GBCS message.
TUNNEL_OVERHEAD_BYTES = 6
#: A cluster the simulated hubs do not serve: they take its frames and answer nothing.
LINK_KEY = bytes(range(16))
FRAMES = 40


class RecordingClock(SimClock):
    """A standing sim clock that records every wait."""

    def __init__(self) -> None:
        super().__init__(1000.0, start=START, monotonic=lambda: 0.0)
        self.slept: list[float] = []

    async def sleep(self, sim_seconds: float) -> None:
        self.slept.append(sim_seconds)
        await super().sleep(sim_seconds)


async def joined_radio(han: SimHan, site: SiteInfo, **options: object) -> SimFrameRadio:
    """A radio joined to the site's hub, as after registration (the hub's device log holds
    the radio with the link key it joins with)."""
    radio = SimFrameRadio(han, **options)  # type: ignore[arg-type]
    endpoint = han.frames.endpoint(site.hub_id)
    assert endpoint is not None
    endpoint.device_log[radio.eui] = LINK_KEY
    await radio.join(site.hub_id, LINK_KEY)
    return radio


def link_cost(directory: Path, frame_loss: float) -> tuple[int, list[float]]:
    """Frames on air and the sim waits for sending ``FRAMES`` full frames to a hub."""
    clock = RecordingClock()
    han = SimHan.create(directory, seed=SEED, clock=clock)
    try:
        site = han.add_site(name="Costed", seed=SEED)

        async def scenario() -> int:
            radio = await joined_radio(han, site, frame_loss=frame_loss, seed=1)
            clock.slept.clear()
            before = radio.frames_sent
            for counter in range(FRAMES):
                await radio.send_aps(site.hub_id, quiet_aps_frame(counter))
            return radio.frames_sent - before

        return run(scenario()), list(clock.slept)
    finally:
        han.close()


def test_each_frame_waits_for_its_airtime(tmp_path) -> None:
    frames, slept = link_cost(tmp_path / "clean", frame_loss=0.0)
    full = Medium.exchange_time(aps_psdu_length(MAX_APS_FRAME), BAND_2_4_GHZ)
    assert frames == FRAMES
    assert slept == [pytest.approx(full, abs=1e-6)] * FRAMES  # sim instants are ~1.8e9 s


def test_loss_costs_retries_and_is_deterministic(tmp_path) -> None:
    clean_frames, clean_slept = link_cost(tmp_path / "clean", frame_loss=0.0)
    lossy = [link_cost(tmp_path / f"lossy-{n}", frame_loss=0.3) for n in range(2)]
    assert lossy[0] == lossy[1]  # the same seed loses the same frames
    frames, slept = lossy[0]
    assert frames > clean_frames  # every retry is another frame on air...
    assert sum(slept) > sum(clean_slept)  # ...and another frame time


def test_drop_at_frame(han, site) -> None:
    async def scenario() -> tuple[SimFrameRadio, int]:
        radio = await joined_radio(han, site)
        before = radio.frames_sent
        radio.drop_after(3)
        for counter in range(3):
            await radio.send_aps(site.hub_id, quiet_aps_frame(counter))
        assert not radio.link_down
        with pytest.raises(RadioError) as err:
            await radio.send_aps(site.hub_id, quiet_aps_frame(3))
        assert err.value.code is ErrorCode.LINK_LOST
        with pytest.raises(RadioError) as again:  # nothing passes until the radio rejoins
            await radio.send_aps(site.hub_id, quiet_aps_frame(4))
        assert again.value.code is ErrorCode.LINK_LOST
        return radio, radio.frames_sent - before

    radio, sent = run(scenario())
    assert radio.link_down and sent == 4  # three went, the link dropped at the fourth


def test_put_waits_for_the_airtime(tmp_path, supplier) -> None:
    clock = RecordingClock()
    han = SimHan.create(tmp_path / "timed", seed=SEED, clock=clock)
    try:
        site = han.add_site(name="Timed", seed=SEED)
        raw = build_command(
            han,
            supplier_identity=supplier,
            device_eui=site.esme_id,
            counter=1,
            message_code=0x0027,
            payload=bytes(1000),
            sign=True,
        )

        async def scenario() -> None:
            link = await han.driver().connect(site.hub_id)
            clock.slept.clear()
            await link.put(raw)

        run(scenario())
        # every block's exchange, and the hub's acknowledgements
        tunnelled = len(raw) + TUNNEL_OVERHEAD_BYTES
        blocks = -(-tunnelled // MAX_APS_BLOCK)
        full = Medium.exchange_time(aps_psdu_length(MAX_APS_FRAME), BAND_2_4_GHZ)
        assert blocks * full * 0.9 <= sum(clock.slept) <= blocks * full * 1.6
    finally:
        han.close()


def test_drop_now(han, site, command) -> None:
    async def scenario() -> None:
        link = await connect(han, site.hub_id)
        link.drop_link()
        assert not link.is_open
        with pytest.raises(RadioError) as err:
            await link.put(command(site.esme_id, 1))
        assert err.value.code is ErrorCode.LINK_LOST
        with pytest.raises(RadioError):
            await link.receive(0.01)

    run(scenario())


def test_drop_mid_message_delivers_nothing(han, site, command) -> None:
    raw = command(site.esme_id, 2, payload=bytes(300))

    async def scenario() -> None:
        link = await connect(han, site.hub_id)
        link.drop_link(after_frames=2)
        with pytest.raises(RadioError) as err:
            await link.put(raw)
        assert err.value.code is ErrorCode.LINK_LOST

    run(scenario())
    han.clock.advance(10)
    assert han.device_log() == []


def test_drop_after_delivery_response_collected_on_reconnect(han, site, command) -> None:
    raw = command(site.esme_id, 3)

    async def scenario() -> list[bytes]:
        link = await connect(han, site.hub_id)
        await link.put(raw)
        link.drop_link()
        with pytest.raises(RadioError):
            await link.receive(RECEIVE_TIMEOUT)
        han.clock.advance(5)
        again = await connect(han, site.hub_id)
        return await again.get()

    (held,) = run(scenario())
    assert len(han.device_log()) == 1


def test_unacked_messages_redelivered_on_reconnect(han, site, command) -> None:
    async def scenario() -> None:
        link = await connect(han, site.hub_id)
        response = await send_and_receive(link, command(site.esme_id, 4), ack=False)
        assert await link.receive(0.05) is None  # handed out once per link
        await link.close()
        second = await connect(han, site.hub_id)
        assert await second.get() == [response]
        assert await second.get() == []
        assert await second.ack(response)
        assert not await second.ack(response)
        third = await connect(han, site.hub_id)
        assert await third.get() == []
        assert await third.receive(0.05) is None

    run(scenario())


def test_receive_times_out(han, site) -> None:
    """With nothing to receive, receive waits out its timeout and returns None."""

    async def scenario() -> float:
        link = await connect(han, site.hub_id)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await link.receive(0.1) is None
        return loop.time() - started

    assert run(scenario()) >= 0.09  # it waited: no early return (no upper bound is asserted)


def test_lossy_link_still_delivers(tmp_path, supplier) -> None:
    han = SimHan.create(tmp_path / "lossy", seed=SEED, clock=SimClock(1000.0, start=START))
    try:
        site = han.add_site(name="Lossy", seed=SEED)

        async def scenario() -> int:
            link = await han.driver(frame_loss=0.2, seed=3).connect(site.hub_id)
            for counter in range(1, 4):
                raw = build_command(
                    han,
                    supplier_identity=supplier,
                    device_eui=site.esme_id,
                    counter=counter,
                    message_code=0x0027,
                    payload=b"",
                    sign=True,
                )
                await send_and_receive(link, raw)
            return link.frames_sent

        assert run(scenario()) > 0
        assert len(han.device_log()) == 3
    finally:
        han.close()


def test_the_sticks_frame_counters_survive_a_restart(han, site, tmp_path) -> None:
    """The stick's outgoing NWK and APS counters are kept in the terminal's data: a
    restarted terminal goes on above them, and the hub, which remembers the last counter
    it took from this terminal, takes its frames; a stick that forgot them is refused."""
    kept = tmp_path / "radio"
    kept.mkdir()
    endpoint = han.frames.endpoint(site.hub_id)
    assert endpoint is not None

    async def send_three(radio: SimFrameRadio) -> int:
        endpoint.device_log[radio.eui] = LINK_KEY
        await radio.join(site.hub_id, LINK_KEY)
        for counter in range(3):
            await radio.send_aps(site.hub_id, quiet_aps_frame(counter))
        await radio.close()
        return radio.layers.last_nwk_counter

    first = run(send_three(SimFrameRadio(han, counters_dir=kept)))
    second = run(send_three(SimFrameRadio(han, counters_dir=kept)))  # after a restart
    assert second > first
    assert endpoint.dropped["nwk-counter"] == 0
    assert sorted(p.name for p in kept.iterdir()) == ["aps-frame-counter", "nwk-frame-counter"]

    forgetful = tmp_path / "new-stick-memory"
    forgetful.mkdir()
    run(send_three(SimFrameRadio(han, counters_dir=forgetful)))  # counters from the bottom
    assert endpoint.dropped["nwk-counter"] == 4  # its Device Announce and three frames
