"""The stick is pulled out mid-job: the job pauses with a plain message and carries on by
itself once the stick is back, with nothing done twice."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from tests.jobs.conftest import any_answered, assert_exactly_once, connect, until
from webapp.jobs.states import PauseReason
from webapp.station import radio_came_back
from webapp.zigbee.drivers.base import INSTRUCTIONS, ErrorCode


def test_unplugged_mid_job_pauses_then_resumes_when_back(rig_factory, demo_jobs) -> None:
    rig = rig_factory(time_scale=50.0)
    job = demo_jobs[1]
    radio = rig.runner.driver.radio
    station = SimpleNamespace(driver=rig.runner.driver, runner=rig.runner)

    async def scenario() -> tuple[str, bool, bool]:
        await connect(rig, job["id"])
        await rig.runner.start(job["id"])
        await until(rig.runner, any_answered(rig, job["id"]))
        radio.unplug()
        await rig.runner.wait(job["id"])
        paused = rig.job(job["id"])["status_message"]
        assert rig.job(job["id"])["pause_reason"] == PauseReason.STICK_UNPLUGGED
        still_gone = await radio_came_back(station)  # nothing to do while it is out
        radio.replug()
        back = await radio_came_back(station)
        await rig.runner.wait(job["id"])
        return paused, still_gone, back

    paused, still_gone, back = asyncio.run(scenario())
    assert paused == INSTRUCTIONS[ErrorCode.STICK_UNPLUGGED]
    assert not still_gone and back
    assert rig.job(job["id"])["status"] == "completed"
    assert_exactly_once(rig, job["id"])
    kinds = [
        e["kind"] for e in rig.store.reader()["job_events"].rows_where("job_id = ?", [job["id"]])
    ]
    assert "radio" in kinds
