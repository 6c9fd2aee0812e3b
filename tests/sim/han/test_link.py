"""The link model: airtime, loss, drops, and the hub's outbox for the HHT."""

from __future__ import annotations

import time

import pytest

from webapp.sim.dcc import build_command
from webapp.sim.han.clock import SimClock
from webapp.sim.han.han import SimHan
from webapp.sim.han.link import (
    TUNNEL_OVERHEAD_BYTES,
    LinkDropped,
    LinkModel,
    frames_for,
    modelled_airtime,
)
from webapp.sim.han.medium import Medium
from webapp.zigbee.drivers.base import BAND_2_4_GHZ, BAND_868_MHZ, ErrorCode, RadioError
from webapp.zigbee.sizes import MAX_APS_BLOCK, MAX_APS_FRAME, aps_psdu_length

from .conftest import SEED, START, run
from .helpers import RECEIVE_TIMEOUT, connect, send_and_receive


def test_modelled_airtime() -> None:
    assert frames_for(0) == 1
    assert frames_for(82) == 1 and frames_for(83) == 2
    assert modelled_airtime(82) == pytest.approx(0.0069)
    assert modelled_airtime(1500) == pytest.approx(19 * 0.0069)
    assert modelled_airtime(164, BAND_868_MHZ) == pytest.approx(2 * 0.011)
    with pytest.raises(ValueError):
        modelled_airtime(10, "5GHz")


def test_loss_costs_retries_and_is_deterministic() -> None:
    clean = LinkModel(frame_loss=0.0, seed=1).transfer(4000)
    lossy = [LinkModel(frame_loss=0.3, seed=1) for _ in range(2)]
    times = [[m.transfer(4000) for _ in range(3)] for m in lossy]
    assert times[0] == times[1]
    assert times[0][0] > clean


def test_drop_at_frame() -> None:
    model = LinkModel(seed=1)
    model.drop(after_frames=3)
    model.transfer(100)  # 2 frames
    with pytest.raises(LinkDropped):
        model.transfer(100)
    assert model.dropped and model.frames_sent == 3


class RecordingClock(SimClock):
    def __init__(self) -> None:
        super().__init__(1000.0, start=START, monotonic=lambda: 0.0)
        self.slept: list[float] = []

    async def sleep(self, sim_seconds: float) -> None:
        self.slept.append(sim_seconds)
        await super().sleep(sim_seconds)


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

        async def scenario(driver) -> None:
            link = await driver.connect(site.hub_id)
            clock.slept.clear()
            await link.put(raw)

        run(scenario(han.message_driver()))
        assert clock.slept == [pytest.approx(modelled_airtime(len(raw) + TUNNEL_OVERHEAD_BYTES))]
        # at frame level: every block's exchange, and the hub's acknowledgements
        run(scenario(han.driver()))
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
    async def scenario() -> float:
        link = await connect(han, site.hub_id)
        started = time.monotonic()
        assert await link.receive(0.1) is None
        return time.monotonic() - started

    assert 0.09 <= run(scenario()) < 1.0


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
