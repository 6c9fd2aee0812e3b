"""The gas meter sleeps: the GPF holds its commands until a wake or a button press."""

from __future__ import annotations

import pytest

from tests.conftest import FAST, START
from tests.sim.conftest import RECEIVE_TIMEOUT, connect, run
from webapp.gbcs.message import parse_message
from webapp.sim.han.clock import SimClock
from webapp.sim.han.hub import GSME_PERIODIC_AWAKE_SECONDS, GSME_WAKE_INTERVAL_SECONDS, WakeSchedule

SHORT = 0.05  # real seconds: how long nothing must come back, where nothing is due
#: where an answer is due, it is waited for up to RECEIVE_TIMEOUT (real seconds): it comes
#: back as soon as the simulated radio has carried it, which on a loaded machine may take
#: longer than SHORT (the device signs it first)


@pytest.fixture
def clock() -> SimClock:
    """Sim time stands still unless a test moves it."""
    return SimClock(FAST, start=START, monotonic=lambda: 0.0)


def _after_a_wake(han, site) -> None:
    """Move to just after the gas meter's scheduled wake, so the next is a full interval off."""
    schedule = WakeSchedule.of(han.hubs.device(site.gsme_id))
    now = han.clock.now()
    target = schedule.next_wake(now) + GSME_PERIODIC_AWAKE_SECONDS + 1
    han.clock.advance(target - now)


def test_held_until_button_pressed(han, site, command) -> None:
    _after_a_wake(han, site)

    async def scenario() -> bytes | None:
        link = await connect(han, site.hub_id)
        await link.put(command(site.gsme_id, 11, 0x0074))
        assert await link.receive(SHORT) is None
        han.clock.advance(120)
        assert await link.receive(SHORT) is None
        assert han.hub_status(site.hub_id)["queued_commands"] == 1
        han.press_gsme_button(site.hub_id)
        han.clock.advance(5)
        return await link.receive(RECEIVE_TIMEOUT)

    response = run(scenario())
    assert response is not None
    assert parse_message(response).originator_hex == site.gsme_id
    assert [r["device"] for r in han.device_log()] == [site.gsme_id]


def test_held_until_wake_interval(han, site, command) -> None:
    _after_a_wake(han, site)
    schedule = WakeSchedule.of(han.hubs.device(site.gsme_id))
    wake = schedule.next_wake(han.clock.now())
    assert wake - han.clock.now() > GSME_WAKE_INTERVAL_SECONDS - 20

    async def scenario() -> bytes | None:
        link = await connect(han, site.hub_id)
        await link.put(command(site.gsme_id, 12, 0x0074))
        han.clock.advance(wake - han.clock.now() - 1)
        assert await link.receive(SHORT) is None
        han.clock.advance(5)
        return await link.receive(RECEIVE_TIMEOUT)

    assert run(scenario()) is not None
    assert han.device_log()[0]["executed_at"] > han.hub_status(site.hub_id)["power_on_at"]


def test_held_commands_run_in_order(han, site, command) -> None:
    _after_a_wake(han, site)

    async def scenario() -> list[int]:
        link = await connect(han, site.hub_id)
        for counter in (31, 32, 33):
            await link.put(command(site.gsme_id, counter, 0x007F))
        han.press_gsme_button(site.gsme_id)
        han.clock.advance(15)
        counters = []
        for _ in range(3):
            raw = await link.receive(RECEIVE_TIMEOUT)
            assert raw is not None
            counters.append(parse_message(raw).counter)
        return counters

    assert run(scenario()) == [31, 32, 33]
    log = han.device_log()
    assert [r["counter"] for r in log] == [31, 32, 33]
    assert log[0]["executed_at"] < log[1]["executed_at"] < log[2]["executed_at"]


def test_awake_meter_answers_directly(han, site, command) -> None:
    _after_a_wake(han, site)
    han.press_gsme_button(site.hub_id)

    async def scenario() -> bytes | None:
        link = await connect(han, site.hub_id)
        await link.put(command(site.gsme_id, 40, 0x0074))
        han.clock.advance(4)
        return await link.receive(RECEIVE_TIMEOUT)

    assert run(scenario()) is not None


def test_wan_command_to_sleeping_meter_answers_later_by_wan(han, site, command) -> None:
    _after_a_wake(han, site)
    assert han.deliver_via_wan(command(site.gsme_id, 50, 0x0074)) is None
    assert han.wan_responses() == []
    han.press_gsme_button(site.hub_id)
    han.clock.advance(5)
    (response,) = han.wan_responses()
    assert parse_message(response).counter == 50
    assert han.device_log()[0]["route"] == "wan"
