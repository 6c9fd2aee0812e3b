"""What a real hub refuses, the simulated hub refuses too, and the installer is told what to
do: a tunnel secured with the install-code key instead of the CBKE key, a stale NWK frame
counter, a flipped MIC bit, and a Transport Key under the wrong install code.  Frames an
attacker replays or corrupts on the air are dropped and counted, and change nothing."""

from __future__ import annotations

import asyncio

import pytest

from tests.jobs.conftest import Rig, any_answered, assert_exactly_once, run_until_done, until
from webapp.sim.han.hub_radio import HubEndpoint
from webapp.sim.radio import SimFrameRadio
from webapp.zigbee.capture import read_capture
from webapp.zigbee.drivers.base import INSTRUCTIONS, ErrorCode, RadioError
from webapp.zigbee.frames.mac import MacFrame, MacFrameType


def sim_radio(rig: Rig) -> SimFrameRadio:
    radio = rig.runner.driver.radio  # type: ignore[attr-defined]
    assert isinstance(radio, SimFrameRadio)
    return radio


def hub_of(rig: Rig, job_id: str) -> HubEndpoint:
    endpoint = rig.han.frames.endpoint(rig.job(job_id)["expected_hub_id"])
    assert endpoint is not None
    return endpoint


async def connect_for(rig: Rig, job_id: str) -> None:
    hub = rig.job(job_id)["expected_hub_id"]
    rig.han.power_cycle(hub)
    await rig.runner.connect(job_id, hub)


def test_a_stick_that_does_not_use_the_cbke_key_fails_at_the_tunnel(rig_factory, demo_jobs):
    rig = rig_factory()
    job_id = demo_jobs[1]["id"]
    sim_radio(rig).faults.ignore_link_keys = True

    with pytest.raises(RadioError) as failed:
        asyncio.run(connect_for(rig, job_id))
    assert failed.value.code is ErrorCode.LINK_KEY_REJECTED
    live = rig.runner.board.live(job_id)
    assert live.instruction == INSTRUCTIONS[ErrorCode.LINK_KEY_REJECTED]
    # the hub dropped the Request Tunnel: secured, but under the install-code key
    assert hub_of(rig, job_id).dropped["aps-key"] >= 1
    events = rig.store.reader().query(
        "SELECT kind, data FROM job_events WHERE job_id = ? AND kind = 'connect-failed'",
        [job_id],
    )
    assert any(ErrorCode.LINK_KEY_REJECTED.value in (e["data"] or "") for e in events)

    # the same job passes once the stick holds the key it agreed
    sim_radio(rig).faults.ignore_link_keys = False
    asyncio.run(run_until_done(rig, job_id))
    assert rig.job(job_id)["status"] == "completed"
    assert_exactly_once(rig, job_id)


@pytest.mark.parametrize(
    ("fault", "reason"), [("stale_nwk_counter", "nwk-counter"), ("flip_mic", "nwk-mic")]
)
def test_a_stick_whose_frames_the_hub_refuses_pauses_the_job_with_the_instruction(
    rig_factory, demo_jobs, fault, reason
):
    rig = rig_factory()
    job_id = demo_jobs[1]["id"]

    async def scenario() -> None:
        await connect_for(rig, job_id)
        await rig.runner.start(job_id)
        await until(rig.runner, any_answered(rig, job_id))
        setattr(sim_radio(rig).faults, fault, True)  # the stick goes wrong mid-job
        await rig.runner.wait(job_id)

    asyncio.run(scenario())
    job = rig.job(job_id)
    assert job["status"] == "paused"
    assert job["status_message"] == INSTRUCTIONS[ErrorCode.FRAMES_IGNORED]
    assert hub_of(rig, job_id).dropped[reason] >= 1

    setattr(sim_radio(rig).faults, fault, False)  # another stick, or the same one replugged
    asyncio.run(run_until_done(rig, job_id))
    assert rig.job(job_id)["status"] == "completed"
    assert_exactly_once(rig, job_id)


def test_a_transport_key_under_the_wrong_install_code_refuses_the_join(rig_factory, demo_jobs):
    rig = rig_factory()
    job_id = demo_jobs[1]["id"]
    endpoint = hub_of(rig, job_id)
    radio = sim_radio(rig)
    real_register = endpoint._register

    def register_with_another_code(session, frame):  # type: ignore[no-untyped-def]
        answer = real_register(session, frame)
        endpoint.device_log[radio.eui] = bytes(16)  # the hub holds another code for us
        return answer

    endpoint._register = register_with_another_code  # type: ignore[method-assign]
    with pytest.raises(RadioError) as failed:
        asyncio.run(connect_for(rig, job_id))
    assert failed.value.code is ErrorCode.JOIN_REFUSED
    assert "install-code key" in str(failed.value)
    assert rig.runner.board.live(job_id).instruction == INSTRUCTIONS[ErrorCode.JOIN_REFUSED]

    endpoint._register = real_register  # type: ignore[method-assign]
    asyncio.run(run_until_done(rig, job_id))  # connecting again sends the code again
    assert rig.job(job_id)["status"] == "completed"


def test_frames_replayed_or_corrupted_on_the_air_are_dropped_and_change_nothing(
    rig_factory, demo_jobs
):
    rig = rig_factory()
    job_id = demo_jobs[1]["id"]
    endpoint = hub_of(rig, job_id)

    async def scenario() -> None:
        await connect_for(rig, job_id)
        await rig.runner.start(job_id)
        await until(rig.runner, any_answered(rig, job_id))
        air = rig.runner.captures.parts(job_id)[-1]  # the job's own capture, so far
        sent = [
            f.frame
            for f in read_capture(air)
            if f.direction == "out"
            and MacFrame.from_bytes(f.frame).header.frame_type == MacFrameType.DATA
            and len(f.frame) > 60
        ]
        before = dict(endpoint.dropped)
        now = rig.han.clock.now()
        for raw in sent[-3:]:
            assert endpoint.on_frame(raw, now) == []  # a replay: nothing answers it
            corrupted = raw[:-1] + bytes([raw[-1] ^ 0x80])
            assert endpoint.on_frame(corrupted, now) == []
        assert len(sent) >= 3
        assert endpoint.dropped["nwk-counter"] - before.get("nwk-counter", 0) == 3
        assert endpoint.dropped["nwk-mic"] - before.get("nwk-mic", 0) == 3
        await rig.runner.wait(job_id)

    asyncio.run(scenario())
    assert rig.job(job_id)["status"] == "completed"
    assert_exactly_once(rig, job_id)
