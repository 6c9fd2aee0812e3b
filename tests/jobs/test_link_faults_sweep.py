"""A drop at every frame of a job (mid-message included) and a gas meter left asleep."""

from __future__ import annotations

import asyncio

import pytest

from tests.jobs.conftest import assert_exactly_once, connect, run_until_done


@pytest.mark.parametrize("after_frames", [1, 2, 3, 5, 8, 13])
def test_a_drop_at_any_frame_stops_resumably_then_completes(rig_factory, demo_jobs, after_frames):
    rig = rig_factory()
    job_id = demo_jobs[1]["id"]

    async def scenario() -> list[str]:
        await connect(rig, job_id)
        rig.runner.link.drop_link(after_frames=after_frames)
        await rig.runner.start(job_id)
        await rig.runner.wait(job_id)
        first = rig.job(job_id)
        assert first["status"] == "paused", first
        assert (
            "Reconnect to the hub" in first["status_message"] or "link" in first["status_message"]
        )
        # the stop is exact: nothing is left half-way except the one command in flight
        states = [c["state"] for c in rig.commands(job_id)]
        assert sum(s in ("sending", "delivered") for s in states) <= 1, states
        return await run_until_done(rig, job_id)

    stops = asyncio.run(scenario())
    assert rig.job(job_id)["status"] == "completed", stops
    assert_exactly_once(rig, job_id, already_done_ok=True)


def test_a_gas_meter_nobody_wakes_is_waited_for_and_answers_once(rig_factory, demo_jobs):
    # the terminal waits longer than the meter's 30-minute sleep, so it answers on its own
    rig = rig_factory(time_scale=2000.0)
    job = next(j for j in demo_jobs if j["site"].startswith("21"))  # the gas exchange
    stops = asyncio.run(run_until_done(rig, job["id"]))
    assert rig.job(job["id"])["status"] == "completed", stops
    assert_exactly_once(rig, job["id"])
