"""A job that sets meter clocks waits for good time; the phone's clock releases it."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import login
from tests.jobs.conftest import connect
from webapp.clock import Clock
from webapp.jobs.runner import RunnerError
from webapp.web.context import station


def test_held_while_time_unknown_then_runs_on_phone_time(rig_factory, demo_jobs):
    rig = rig_factory()
    rig.runner.clock = Clock(kernel=lambda: None)  # an unsynchronised Pi
    job = demo_jobs[0]  # sets the ESME and GSME clocks
    rig.han.set_wan(job["expected_hub_id"], False)  # the hub has no DCC time either

    async def scenario() -> None:
        await connect(rig, job["id"])
        with pytest.raises(RunnerError, match="sets meter clocks"):
            await rig.runner.start(job["id"])
        now_ms = time.time() * 1000
        rig.runner.clock.offer_phone(now_ms, now_ms + 20, now_ms + 40)
        await rig.runner.start(job["id"])
        await rig.runner.wait(job["id"])

    asyncio.run(scenario())
    assert rig.job(job["id"])["status"] == "completed"
    events = list(rig.store.reader()["job_events"].rows_where("job_id = ?", [job["id"]]))
    assert any(e["kind"] == "held" for e in events)
    checks = [e for e in events if e["kind"] == "clock-check"]
    assert checks and "gas meter's clock, once set (GCS28), differs" in checks[0]["message"]
    stamped = [e for e in events if e["id"] > next(e["id"] for e in events if e["kind"] == "held")]
    assert stamped and all(e["time_source"] == "phone" for e in stamped)


def test_the_page_sends_the_phones_clock(app, client, demo_jobs):
    login(client, "installer")
    with app.app_context():
        station().runner.clock = Clock(kernel=lambda: None)  # an unsynchronised Pi
    sock = app.extensions["hht"].socketio.test_client(app, flask_test_client=client)
    sock.emit("join", {"job_id": demo_jobs[0]["id"]})
    for _ in range(5):
        pings = [m for m in sock.get_received() if m["name"] == "clock_ping"]
        assert len(pings) == 1
        sock.emit("clock_pong", {"id": pings[0]["args"][0]["id"], "phone_ms": time.time() * 1000})
    assert not [m for m in sock.get_received() if m["name"] == "clock_ping"]  # five is all
    with app.app_context():
        estimate = station().runner.clock.estimate()
        samples = station().store.reader()["clock_samples"].count
    assert estimate.source.value == "phone" and estimate.uncertainty_s < 1.0
    assert samples == 5
    junk = app.extensions["hht"].socketio.test_client(app, flask_test_client=client)
    junk.emit("join", {"job_id": demo_jobs[0]["id"]})
    ping = next(m for m in junk.get_received() if m["name"] == "clock_ping")
    junk.emit("clock_pong", {"id": ping["args"][0]["id"], "phone_ms": "x"})
    assert [m["name"] for m in junk.get_received()] == ["error"]
    api = client.get("/api/clock").get_json()
    assert {"now_ms", "uncertainty_s", "source", "label", "warning"} <= set(api)
