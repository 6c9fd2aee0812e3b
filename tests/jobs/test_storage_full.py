"""A full disk pauses the job safely; when space returns it resumes, losing nothing."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

from tests.jobs.conftest import assert_exactly_once, connect
from webapp.jobs.runner import STORAGE_FULL_MESSAGE


def test_disk_full_mid_job_pauses_and_resumes_without_loss(rig_factory, demo_jobs):
    rig = rig_factory()
    job_id = demo_jobs[1]["id"]
    store = rig.store
    real_write = store.write
    state = {"writes": 0, "full_after": None}

    @contextlib.contextmanager
    def filling_disk():  # type: ignore[no-untyped-def]
        state["writes"] += 1
        with real_write() as db:
            if state["full_after"] is not None and state["writes"] > state["full_after"]:
                raise sqlite3.OperationalError("database or disk is full")
            yield db

    store.write = filling_disk  # type: ignore[method-assign]

    async def scenario() -> None:
        await connect(rig, job_id)
        state["full_after"] = state["writes"] + 8  # a few commands in, the card fills up
        await rig.runner.start(job_id)
        await rig.runner.wait(job_id)
        assert rig.runner.live(job_id).instruction == STORAGE_FULL_MESSAGE
        assert rig.runner.link is None  # the answers not stored stay held at the hub
        done = [c for c in rig.commands(job_id) if c["state"] == "answered"]
        assert 0 < len(done) < len(rig.commands(job_id))
        state["full_after"] = None  # space returns
        await connect(rig, job_id)
        await rig.runner.start(job_id)
        await rig.runner.wait(job_id)

    asyncio.run(scenario())
    assert rig.job(job_id)["status"] == "completed"
    # every answer kept, none replaced by a rejection
    assert_exactly_once(rig, job_id)
