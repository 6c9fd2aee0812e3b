"""The phone's clock over the socket: only answers to the pings sent count, a few per
connection; a phone that disagrees with the hub moves nothing and is written in the log."""

from __future__ import annotations

import time

import pytest

from tests.conftest import login
from webapp.clock import Clock
from webapp.clock.pings import PINGS_PER_WINDOW
from webapp.web.context import station

THREE_DAYS_MS = 3 * 24 * 3600 * 1000


@pytest.fixture
def clock(app) -> Clock:  # type: ignore[no-untyped-def]
    """An unsynchronised Pi's clock that has looked once (changes count from there)."""
    fresh = Clock(kernel=lambda: None)
    fresh.estimate()
    with app.app_context():
        station().runner.clock = fresh
    return fresh


def _socket(app, client):  # type: ignore[no-untyped-def]
    return app.extensions["hht"].socketio.test_client(app, flask_test_client=client)


def _pings(sock) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m["args"][0] for m in sock.get_received() if m["name"] == "clock_ping"]


def _samples(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return station().store.reader()["clock_samples"].count


def _clock_events(app, job_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = (
            station()
            .store.reader()["job_events"]
            .rows_where("job_id = ? AND kind = 'clock'", [job_id], order_by="id")
        )
        return list(rows)


def _now_ms() -> float:
    return time.time() * 1000


def test_an_unsolicited_pong_is_ignored(app, client, demo_jobs, clock):
    login(client, "installer")
    sock = _socket(app, client)
    sock.emit("clock_pong", {"id": "made-up", "sent_ms": _now_ms(), "phone_ms": _now_ms()})
    sock.emit("clock_pong", {"sent_ms": _now_ms(), "phone_ms": _now_ms() + THREE_DAYS_MS})
    assert sock.get_received() == []
    assert _samples(app) == 0 and clock.estimate().source.value == "unsynchronised"


def test_unknown_and_reused_ping_ids_are_ignored(app, client, demo_jobs, clock):
    login(client, "installer")
    sock = _socket(app, client)
    sock.emit("join", {"job_id": demo_jobs[0]["id"]})
    (ping,) = _pings(sock)
    sock.emit("clock_pong", {"id": ping["id"] + "x", "phone_ms": _now_ms()})
    sock.emit("clock_pong", {"id": None, "phone_ms": _now_ms()})
    assert _samples(app) == 0
    sock.emit("clock_pong", {"id": ping["id"], "phone_ms": _now_ms()})
    assert _samples(app) == 1
    (following,) = _pings(sock)
    assert following["id"] != ping["id"]
    sock.emit("clock_pong", {"id": ping["id"], "phone_ms": _now_ms()})  # reused
    assert _samples(app) == 1 and _pings(sock) == []
    other = _socket(app, client)  # another connection cannot answer this one's ping
    other.emit("clock_pong", {"id": following["id"], "phone_ms": _now_ms()})
    assert _samples(app) == 1


def test_a_connection_adds_at_most_a_few_samples(app, client, demo_jobs, clock):
    login(client, "installer")
    sock = _socket(app, client)
    answered = 0
    for _ in range(20):  # joining again and again, answering everything, plus junk
        sock.emit("join", {"job_id": demo_jobs[0]["id"]})
        for ping in _pings(sock):
            for _ in range(50):
                sock.emit("clock_pong", {"id": ping["id"], "phone_ms": _now_ms()})
            answered += 1
    assert 0 < _samples(app) <= PINGS_PER_WINDOW  # rejoining spends the pings too
    assert answered <= PINGS_PER_WINDOW


def test_a_phone_three_days_ahead_of_the_hub_is_flagged(app, client, demo_jobs, clock):
    job_id = demo_jobs[0]["id"]
    clock.offer_hub_time(time.time() - 30.0, synchronised=True)
    before = clock.estimate()
    login(client, "installer")
    sock = _socket(app, client)
    sock.emit("join", {"job_id": job_id})
    (ping,) = _pings(sock)
    sock.emit("clock_pong", {"id": ping["id"], "phone_ms": _now_ms() + THREE_DAYS_MS})
    assert _pings(sock) == []  # no more pings for a phone set aside
    after = clock.estimate()
    assert after.source.value == "hub" and after.offset_s == pytest.approx(before.offset_s)
    assert _samples(app) == 0
    events = [e for e in _clock_events(app, job_id) if "disagrees" in e["message"]]
    assert len(events) == 1
    assert "the hub clock by 2592" in events[0]["message"]
    assert events[0]["actor"] == "alex"
    api = client.get("/api/clock").get_json()
    assert api["source"] == "hub" and "phone's clock disagrees" in api["warning"]
    sock.emit("join", {"job_id": job_id})  # a second try from the same connection
    (again,) = _pings(sock)
    sock.emit("clock_pong", {"id": again["id"], "phone_ms": _now_ms() + THREE_DAYS_MS})
    assert len([e for e in _clock_events(app, job_id) if "disagrees" in e["message"]]) == 1


def test_a_change_of_clock_source_is_written_in_the_job_log(app, client, demo_jobs, clock):
    job_id = demo_jobs[0]["id"]
    login(client, "installer")
    sock = _socket(app, client)
    sock.emit("join", {"job_id": job_id})
    (ping,) = _pings(sock)
    sock.emit("clock_pong", {"id": ping["id"], "phone_ms": _now_ms()})
    (event,) = _clock_events(app, job_id)
    assert event["message"].startswith("Clock source changed from unsynchronised to phone")
    assert event["time_source"] == "phone"
    for _ in range(3):  # more readings from the same source: no more changes
        (ping,) = _pings(sock)
        sock.emit("clock_pong", {"id": ping["id"], "phone_ms": _now_ms()})
    assert len(_clock_events(app, job_id)) == 1


def test_a_counted_pong_tells_the_page_the_terminal_s_time(app, client, demo_jobs, clock):
    login(client, "installer")
    sock = _socket(app, client)
    sock.emit("join", {"job_id": demo_jobs[0]["id"]})
    (ping,) = _pings(sock)
    sock.emit("clock_pong", {"id": ping["id"] + "x", "phone_ms": _now_ms()})
    assert [m for m in sock.get_received() if m["name"] == "clock"] == []  # not counted
    sock.emit("clock_pong", {"id": ping["id"], "phone_ms": _now_ms()})
    told = [m["args"][0] for m in sock.get_received() if m["name"] == "clock"]
    assert len(told) == 1
    assert told[0]["source"] == "phone" and told[0]["uncertainty_s"] is not None
    assert "your phone" in told[0]["label"]
