"""A gas meter that has dropped off its hub's HAN: a command for it gets no answer and the
job pauses with the no-answer instruction; the ``gsme-rejoin`` visit (CS03B then GCS28)
re-joins it, every command answered once, and the meter answers again afterwards."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.jobs.conftest import Rig, assert_exactly_once, until
from tests.workpack.conftest import job_spec, pack_spec
from webapp.jobs.delivery import MAX_ATTEMPTS
from webapp.sim.han.gas_proxy import DROPPED_OFF_REASON
from webapp.sim.packs import build_pack
from webapp.store.db import Store
from webapp.workpack.load import load_pack

#: Fast enough that the gas meter's 35-minute wait for an answer is short in real time
#: where nothing answers; the hub's window is held open for days.
NO_ANSWER_TIME_SCALE = 20_000.0
STOPPED = frozenset({"completed", "failed", "aborted", "paused"})
WAKE_ACTION = "wake-gsme"
WINDOW_HELD_SECONDS = 30 * 24 * 3600.0
PIN = "482913"


def _visit(job_id: str, site: str, **extra: Any) -> dict[str, Any]:
    """A maintenance visit to the simulated home ``site``."""
    job = job_spec(job_id, site, kind="maintenance", installer_pin=PIN, **extra)
    del job["hub_install"]
    if "plan" in extra:
        del job["steps"]
    return job


def _load(demo_dir: Path, *jobs: dict[str, Any]) -> None:
    """Build the pack of ``jobs`` (making their homes) and load it as a supervisor would."""
    data = build_pack(pack_spec(*jobs), demo_dir).data()
    store = Store.open(demo_dir)
    try:
        load_pack(store, data, source="test", actor="test")
    finally:
        store.close()


def _hold_window_open(rig: Rig, hub: str) -> None:
    """The hub's window held open for a long while, as a meter's menu opens it (the window
    is not what these tests are about; the hub keeps its WAN, so it has the time)."""
    rig.han.hubs.open_window(hub, rig.clock.now() + WINDOW_HELD_SECONDS)


def _run(rig: Rig, job_id: str) -> dict[str, Any]:
    """Connect, run the job to its stop, and return the job row."""
    hub = rig.job(job_id)["expected_hub_id"]

    async def scenario() -> None:
        await rig.runner.connect(job_id, hub)
        await rig.runner.start(job_id)
        await rig.runner.wait(job_id)

    asyncio.run(scenario())
    return rig.job(job_id)


def _run_pressing_the_button(rig: Rig, job_id: str) -> dict[str, Any]:
    """Connect and run the job as an installer would: pressing the gas meter's button each
    time the HHT asks for it, so no answer waits on the meter's next scheduled wake."""
    hub = rig.job(job_id)["expected_hub_id"]

    def stopped() -> bool:
        return rig.job(job_id)["status"] in STOPPED

    def asked() -> bool:
        return rig.runner.live(job_id).action == WAKE_ACTION

    async def scenario() -> None:
        await rig.runner.connect(job_id, hub)
        await rig.runner.start(job_id)
        while True:
            await until(rig.runner, lambda: stopped() or asked())
            if stopped():
                break
            rig.han.press_gsme_button(hub)
            await until(rig.runner, lambda: stopped() or not asked())
        await rig.runner.wait(job_id)

    asyncio.run(scenario())
    return rig.job(job_id)


def _gas_meter_state(rig: Rig, job_id: str) -> str:
    return rig.han.hub_status(rig.job(job_id)["expected_hub_id"])["gas_meter"]["state"]


def test_a_dropped_off_gas_meter_does_not_answer_and_the_job_pauses(rig_factory, demo_dir):
    dropped = [{"sim_site": "1 Drop Lane", "gsme_dropped": True}]
    _load(demo_dir, _visit("GD1", "1 Drop Lane", steps=["GCS28"], device_sets=dropped))
    rig = rig_factory(time_scale=NO_ANSWER_TIME_SCALE)
    hub = rig.job("GD1")["expected_hub_id"]
    gsme = rig.han.site("1 Drop Lane").gsme_id
    assert _gas_meter_state(rig, "GD1") == "dropped-off"
    _hold_window_open(rig, hub)

    job = _run(rig, "GD1")

    assert job["status"] == "paused" and job["pause_reason"] == "no-answer"
    assert "gas meter did not answer" in job["status_message"]
    [command] = rig.commands("GD1")
    assert command["state"] == "timed_out" and command["attempts"] == MAX_ATTEMPTS
    assert not [r for r in rig.han.device_log() if r["device"] == gsme]
    undelivered = [r for r in rig.han.rejections() if r["device"] == gsme]
    assert [r["reason"] for r in undelivered] == [DROPPED_OFF_REASON] * MAX_ATTEMPTS
    assert _gas_meter_state(rig, "GD1") == "dropped-off"


def test_the_rejoin_visit_completes_and_the_meter_answers_again(rig_factory, demo_dir):
    _load(
        demo_dir,
        _visit("GR1", "2 Drop Lane", plan="gsme-rejoin"),
        _visit("GR2", "2 Drop Lane", steps=["GCS28"]),
    )
    rig = rig_factory()
    assert _gas_meter_state(rig, "GR1") == "dropped-off"
    _hold_window_open(rig, rig.job("GR1")["expected_hub_id"])

    assert [c["use_case"] for c in rig.commands("GR1")] == ["CS03B", "GCS28"]
    assert _run_pressing_the_button(rig, "GR1")["status"] == "completed"
    assert_exactly_once(rig, "GR1")
    assert _gas_meter_state(rig, "GR1") == "joined"

    assert _run_pressing_the_button(rig, "GR2")["status"] == "completed"
    assert_exactly_once(rig, "GR2")
    assert not [r for r in rig.han.rejections() if r["reason"] == DROPPED_OFF_REASON]
