"""The runner delivers every command once, in order, and stops only at resumable points."""

from __future__ import annotations

import asyncio

import pytest

from tests.jobs.conftest import any_answered, assert_exactly_once, connect, until
from webapp.jobs.runner import RunnerError
from webapp.station import Station
from webapp.store.clock import utc_now
from webapp.zigbee.drivers.base import ErrorCode, RadioError

ALL_ANSWERED = {"answered"}


def test_a_job_runs_to_the_end_with_each_counter_executed_once(rig_factory, demo_jobs):
    rig = rig_factory()
    job_id = demo_jobs[0]["id"]

    async def scenario() -> None:
        await connect(rig, job_id)
        await rig.runner.start(job_id)
        await rig.runner.wait(job_id)

    asyncio.run(scenario())
    assert rig.job(job_id)["status"] == "completed"
    commands = rig.commands(job_id)
    assert {c["state"] for c in commands} == ALL_ANSWERED
    assert_exactly_once(rig, job_id)
    assert all(c["attempts"] == 1 for c in commands)
    responses = list(rig.store.reader()["responses"].rows_where("job_id = ?", [job_id]))
    assert len(responses) == len(commands)
    assert {r["signature"] for r in responses} == {"valid"}
    # progress went out to the page: a snapshot and every command's changes
    kinds = [m["type"] for j, m in rig.published if j == job_id]
    assert "snapshot" in kinds and "command" in kinds and "live" in kinds
    # each command's change carries its service request's state: in progress while it is
    # sent, done once answered (a page redraws the step without fetching the job again)
    changes = [m for j, m in rig.published if j == job_id and m["type"] == "command"]
    for change in changes:
        request = change["service_request"]
        assert request["id"] == change["command"]["service_request_id"]
        expected = "done" if change["command"]["state"] == "answered" else "in-progress"
        assert (request["state"], request["state_label"]) == (
            expected,
            {"done": "Done", "in-progress": "In progress"}[expected],
        )


def test_starting_a_running_job_twice_is_refused(rig_factory, demo_jobs):
    rig = rig_factory(time_scale=10.0)  # slow enough that the job still runs at the 2nd start
    job_id = demo_jobs[0]["id"]

    async def scenario() -> str:
        await connect(rig, job_id)
        await rig.runner.start(job_id)
        with pytest.raises(RunnerError, match="already running"):
            await rig.runner.start(job_id)
        other = demo_jobs[1]["id"]
        with pytest.raises(RunnerError, match="is running on this radio"):
            await rig.runner.connect(other, demo_jobs[1]["expected_hub_id"])
        await rig.runner.pause(job_id)
        await rig.runner.wait(job_id)
        return rig.job(job_id)["status"]

    assert asyncio.run(scenario()) == "paused"


def test_a_job_that_is_not_connected_cannot_start(rig_factory, demo_jobs):
    rig = rig_factory()
    with pytest.raises(RunnerError, match="Connect to the job's hub first"):
        asyncio.run(rig.runner.start(demo_jobs[0]["id"]))


def test_connecting_to_a_hub_that_is_not_the_jobs_is_refused(rig_factory, demo_jobs):
    rig = rig_factory()
    job = demo_jobs[0]
    with pytest.raises(RunnerError, match="not this job's hub"):
        asyncio.run(rig.runner.connect(job["id"], demo_jobs[1]["expected_hub_id"]))


def test_gas_meter_commands_wait_until_it_wakes(rig_factory, demo_jobs):
    rig = rig_factory(time_scale=10.0)
    job = next(j for j in demo_jobs if j["site"].startswith("21"))  # the gas exchange
    hub = job["expected_hub_id"]
    gsme = (
        rig.store.reader()
        .execute(
            "SELECT recipient FROM commands WHERE job_id = ? AND device_role = 'gsme'", [job["id"]]
        )
        .fetchone()[0]
    )

    def first_gas() -> dict:
        return next(c for c in rig.commands(job["id"]) if c["device_role"] == "gsme")

    async def scenario() -> None:
        await connect(rig, job["id"])
        row = rig.han.store.row(
            "SELECT wake_anchor, wake_interval FROM devices WHERE eui = ?", [gsme]
        )
        # stand well inside a sleeping period of the gas meter
        phase = (rig.clock.now() - row["wake_anchor"]) % row["wake_interval"]
        rig.clock.advance((60 - phase) % row["wake_interval"] if phase < 60 else 0)
        await rig.runner.start(job["id"])
        await until(rig.runner, lambda: first_gas()["state"] == "delivered")
        assert first_gas()["state"] == "delivered"
        live = rig.runner.live(job["id"])
        assert "gas meter" in live.waiting_for and live.action == "wake-gsme"
        # sim time passes, half-way to the meter's next wake, and the hub runs what is due
        phase = (rig.clock.now() - row["wake_anchor"]) % row["wake_interval"]
        rig.clock.advance((row["wake_interval"] - phase) / 2)
        rig.han.pump()
        gas = first_gas()
        assert gas["state"] == "delivered", "nothing answers while the gas meter sleeps"
        assert rig.executions().get((gas["recipient"], gas["counter"]), 0) == 0
        rig.han.press_gsme_button(hub)
        await rig.runner.wait(job["id"])

    asyncio.run(scenario())
    assert rig.job(job["id"])["status"] == "completed"
    assert all(c["state"] == "answered" for c in rig.commands(job["id"]))


def test_a_dropped_link_pauses_and_resume_finishes_without_repeats(rig_factory, demo_jobs):
    rig = rig_factory()
    job_id = demo_jobs[0]["id"]

    async def scenario() -> None:
        await connect(rig, job_id)
        rig.runner.link.drop_link(after_frames=12)
        await rig.runner.start(job_id)
        await rig.runner.wait(job_id)
        job = rig.job(job_id)
        assert job["status"] == "paused"
        assert "Reconnect" in job["status_message"] or "link" in job["status_message"]
        done_before = [c for c in rig.commands(job_id) if c["state"] == "answered"]
        assert 0 < len(done_before) < len(rig.commands(job_id))
        await connect(rig, job_id)
        await rig.runner.start(job_id)
        await rig.runner.wait(job_id)

    asyncio.run(scenario())
    assert rig.job(job_id)["status"] == "completed"
    assert_exactly_once(rig, job_id, already_done_ok=True)


def test_abort_records_the_reason_and_stops(rig_factory, demo_jobs):
    rig = rig_factory(time_scale=10.0)
    job_id = demo_jobs[0]["id"]

    asked: list[str] = []

    async def scenario() -> None:
        await connect(rig, job_id)
        await rig.runner.start(job_id)
        await until(rig.runner, any_answered(rig, job_id))  # mid-job
        asked.append(utc_now())
        await rig.runner.abort(job_id, "no-wan", "no signal at all", "installer:alex")

    asyncio.run(scenario())
    job = rig.job(job_id)
    assert job["status"] == "aborted"
    assert (job["abort_reason"], job["abort_note"]) == ("no-wan", "no signal at all")
    # nothing was sent once the abort was asked for, even when an answer came in just then
    sent_after = [c["seq"] for c in rig.commands(job_id) if (c["sent_at"] or "") > asked[0]]
    assert sent_after == []
    with pytest.raises(RunnerError, match="aborted"):
        asyncio.run(rig.runner.start(job_id))


def test_window_closed_is_reported_as_an_instruction(rig_factory, demo_jobs):
    rig = rig_factory()
    job = demo_jobs[0]
    rig.clock.advance(2 * 3600)

    async def scenario() -> None:
        await rig.runner.connect(job["id"], job["expected_hub_id"])

    with pytest.raises(RadioError) as info:
        asyncio.run(scenario())
    assert info.value.code == ErrorCode.WINDOW_CLOSED
    assert "Power-cycle the hub" in rig.runner.live(job["id"]).instruction


def test_a_job_left_running_by_a_restart_is_paused_and_resumes(demo_dir, demo_jobs):
    job_id = demo_jobs[0]["id"]

    def answered(station: Station) -> bool:
        states = station.store.reader().execute(
            "SELECT state FROM commands WHERE job_id = ?", [job_id]
        )
        return any(row[0] == "answered" for row in states)

    async def first_life() -> None:
        station = await Station.open(demo_dir, time_scale=10.0)
        job = station.store.reader()["jobs"].get(job_id)
        station.han.power_cycle(job["expected_hub_id"])
        await station.runner.connect(job_id, job["expected_hub_id"])
        await station.runner.start(job_id)
        await until(station.runner, lambda: answered(station))  # mid-job
        # then the "power is pulled": nothing closes
        station.runner.active_job = None

    async def second_life() -> dict:
        station = await Station.open(demo_dir, time_scale=1000.0)
        try:
            job = station.store.reader()["jobs"].get(job_id)
            assert job["status"] == "paused"
            assert "restarted" in job["status_message"]
            station.han.power_cycle(job["expected_hub_id"])
            await station.runner.connect(job_id, job["expected_hub_id"])
            await station.runner.start(job_id)
            await station.runner.wait(job_id)
            return station.store.reader()["jobs"].get(job_id)
        finally:
            await station.close()

    asyncio.run(first_life())
    assert asyncio.run(second_life())["status"] == "completed"
    from webapp.sim.han.han import SimHan

    han = SimHan.open(demo_dir / "sim")
    try:
        assert {row["executions"] for row in han.device_log()} == {1}
    finally:
        han.close()


def test_no_answer_retries_the_same_bytes_then_pauses_and_resume_tries_again(
    rig_factory, demo_jobs
):
    rig = rig_factory()
    job_id = demo_jobs[0]["id"]
    first = rig.commands(job_id)[0]
    sent: list[bytes] = []

    async def scenario() -> None:
        await connect(rig, job_id)
        link = rig.runner.link
        real_put = link.put

        async def swallowed(message: bytes) -> None:  # the hub never passes it on
            sent.append(message)

        link.put = swallowed
        await rig.runner.start(job_id)
        await rig.runner.wait(job_id)
        job = rig.job(job_id)
        assert job["status"] == "paused"
        assert "did not answer command 1 after 3 tries" in job["status_message"]
        command = rig.commands(job_id)[0]
        assert command["state"] == "timed_out" and command["attempts"] == 3
        assert sent == [first["raw"]] * 3  # the same bytes every time
        link.put = real_put
        await rig.runner.start(job_id)  # resume: a fresh budget of tries
        await rig.runner.wait(job_id)

    asyncio.run(scenario())
    assert rig.job(job_id)["status"] == "completed"
    command = rig.commands(job_id)[0]
    assert command["state"] == "answered" and command["attempts"] == 4
    assert rig.executions()[(first["recipient"], first["counter"])] == 1


def test_a_command_already_run_by_wan_is_shown_as_already_done(rig_factory, demo_jobs):
    """Seed 3.5: the same command by WAN first, then by the HHT: it runs once."""
    rig = rig_factory()
    job = demo_jobs[0]
    first = rig.commands(job["id"])[0]
    rig.han.set_wan(job["expected_hub_id"], True)
    assert rig.han.deliver_via_wan(first["raw"]) is not None  # executed, answered by WAN

    async def scenario() -> None:
        await connect(rig, job["id"])
        await rig.runner.start(job["id"])
        await rig.runner.wait(job["id"])

    asyncio.run(scenario())
    command = rig.commands(job["id"])[0]
    assert command["state"] == "rejected"
    assert command["outcome"] == "rejected"
    assert rig.job(job["id"])["status"] == "completed"  # already done counts as done
    assert rig.executions()[(first["recipient"], first["counter"])] == 1
    kept = list(rig.store.reader()["responses"].rows_where("command_id = ?", [command["id"]]))
    assert [r["outcome"] for r in kept] == ["rejected"]  # the device's refusal is kept
    events = [
        e["message"] for e in rig.store.reader()["job_events"].rows_where("job_id = ?", [job["id"]])
    ]
    assert any("already run it" in m for m in events)
