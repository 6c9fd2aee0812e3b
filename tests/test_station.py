"""The station's own background work (the radio watch is in tests/jobs/test_stick_unplugged.py)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

import pytest

from webapp.station import _check_audit_chain
from webapp.store.audit import state as audit_state
from webapp.store.audit.state import last_check
from webapp.store.db import Store
from webapp.store.events import append_event

#: The check's interval in the test, and how many intervals it may take to run.
INTERVAL_S = 0.01
WAIT_INTERVALS = 3000


def test_the_running_station_checks_the_new_audit_events(demo_dir: Path) -> None:
    store = Store.open(demo_dir)
    try:
        with store.write() as db:
            job = db.execute("SELECT id FROM jobs LIMIT 1").fetchone()[0]
            append_event(db, job, "note", "after the last check")
        newest = store.reader().execute("SELECT max(seq) FROM job_events").fetchone()[0]
        assert last_check(store.reader()).verified_seq != newest

        async def checked() -> int | None:
            task = asyncio.create_task(_check_audit_chain(store, INTERVAL_S))
            try:
                for _ in range(WAIT_INTERVALS):
                    await asyncio.sleep(INTERVAL_S)
                    seq = last_check(store.reader()).verified_seq
                    if seq == newest:
                        break
                return seq
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        assert asyncio.run(checked()) == newest
    finally:
        store.close()


#: How long, in real seconds, the slow walk below is held after its task was cancelled.
HOLD_S = 0.1


def test_closing_waits_for_the_audit_check_under_way(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancel cannot stop the walk's thread: the task ends only once the walk has, so the
    station closes its store after it, never under it."""
    started, release = threading.Event(), threading.Event()
    walks: list[str] = []

    def slow_walk(store: Store) -> None:
        started.set()
        release.wait(WAIT_INTERVALS * INTERVAL_S)
        walks.append("ended")

    monkeypatch.setattr(audit_state, "check_new_events", slow_walk)
    store = Store.open(demo_dir)
    try:

        async def cancel_during_the_walk() -> list[str]:
            task = asyncio.create_task(_check_audit_chain(store, INTERVAL_S))
            while not started.is_set():
                await asyncio.sleep(INTERVAL_S)
            task.cancel()
            threading.Timer(HOLD_S, release.set).start()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return list(walks)

        assert asyncio.run(cancel_during_the_walk()) == ["ended"]
    finally:
        release.set()
        store.close()
