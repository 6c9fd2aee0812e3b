"""The station's own background work (the radio watch is in tests/jobs/test_stick_unplugged.py)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from webapp.station import _check_audit_chain
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
