"""Link faults end in completion or an exact, resumable stop; never a repeat or a loss."""

from __future__ import annotations

import asyncio
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.jobs.conftest import (
    Rig,
    any_answered,
    assert_exactly_once,
    connect,
    run_until_done,
    until,
)
from webapp.gbcs.gbz import build_gbz, default_response, parse_gbz
from webapp.gbcs.header import Cra, GroupingHeader, OtherInfo
from webapp.gbcs.message import build_general_signing, parse_message


@pytest.mark.parametrize("loss", [0.05, 0.15, 0.30])
def test_frame_loss_costs_time_not_correctness(rig_factory, demo_jobs, loss):
    rig = rig_factory(frame_loss=loss)
    job_id = demo_jobs[1]["id"]  # the electricity install: no sleeping meter
    stops = asyncio.run(run_until_done(rig, job_id))
    assert rig.job(job_id)["status"] == "completed", stops
    assert all("did not answer" in s or "link" in s for s in stops)
    assert_exactly_once(rig, job_id)


def test_hub_reboot_mid_job_pauses_then_resumes(rig_factory, demo_jobs):
    rig = rig_factory(time_scale=20.0)
    job = demo_jobs[1]

    async def scenario() -> str:
        await connect(rig, job["id"])
        await rig.runner.start(job["id"])
        await until(rig.runner, any_answered(rig, job["id"]))
        rig.han.power_cycle(job["expected_hub_id"])  # the hub reboots under us
        await rig.runner.wait(job["id"])
        return rig.job(job["id"])["status_message"]

    message = asyncio.run(scenario())
    assert rig.job(job["id"])["status"] == "paused"
    assert "Reconnect" in message or "link" in message
    assert any(c["state"] != "answered" for c in rig.commands(job["id"]))
    asyncio.run(run_until_done(rig, job["id"]))
    assert rig.job(job["id"])["status"] == "completed"
    assert_exactly_once(rig, job["id"])


def _neighbours_response(rig: Rig, job_id: str) -> bytes:
    """A well-formed, signed response from a device of another home, same counter."""
    first = rig.commands(job_id)[0]
    command = parse_message(first["raw"])
    header = GroupingHeader(
        Cra.RESPONSE,
        command.counter,
        bytes.fromhex("00DB0000000000AA"),
        command.header.originator,
        None,
        OtherInfo(command.message_code),
    )
    payload = build_gbz([default_response(parse_gbz(build_gbz([_any_component()]))[0])])
    return build_general_signing(header, payload, ec.generate_private_key(ec.SECP256R1()))


def _any_component():  # type: ignore[no-untyped-def]
    from webapp.gbcs.gbz import GbzComponent, ZclFrame

    return GbzComponent(0, 0x0702, ZclFrame(0x00, 1, 0x00, b"\x00\x00"))


def test_a_neighbours_answer_settles_nothing(rig_factory, demo_jobs):
    rig = rig_factory()
    job_id = demo_jobs[1]["id"]
    raw = _neighbours_response(rig, job_id)

    async def scenario() -> None:
        await connect(rig, job_id)
        await rig.runner.receiver.accept(raw, job_id)

    asyncio.run(scenario())
    assert {c["state"] for c in rig.commands(job_id)} == {"queued"}
    kept = list(rig.store.reader()["responses"].rows_where("job_id = ?", [job_id]))
    assert len(kept) == 1 and kept[0]["command_id"] is None
    assert kept[0]["signature"] == "signer-unknown"
    events = [
        e["message"] for e in rig.store.reader()["job_events"].rows_where("job_id = ?", [job_id])
    ]
    assert any("answers no command" in m for m in events)


def test_junk_from_the_radio_is_recorded_and_ignored(rig_factory, demo_jobs):
    rig = rig_factory()
    job_id = demo_jobs[1]["id"]
    junk = [b"", b"\xdd", b"\xdf\x09\x02", os.urandom(64), b"\xdd\x00" + os.urandom(300)]

    async def scenario() -> None:
        await connect(rig, job_id)
        for raw in junk:
            await rig.runner.receiver.accept(raw, job_id)

    asyncio.run(scenario())
    assert rig.store.reader()["responses"].count == 0
    assert {c["state"] for c in rig.commands(job_id)} == {"queued"}
    events = [
        e["kind"] for e in rig.store.reader()["job_events"].rows_where("job_id = ?", [job_id])
    ]
    assert events.count("unreadable") == len(junk)
