"""Each runner stamps its events with its own clock: two runners do not interfere."""

from __future__ import annotations

import time
from pathlib import Path

from webapp.clock import Clock
from webapp.jobs.runner import Runner
from webapp.store.db import Store
from webapp.zigbee.drivers.base import RadioDriver


def _stamps(store: Store, job_id: str) -> list[tuple[str, str | None]]:
    rows = store.reader()["job_events"].rows_where("job_id = ?", [job_id], order_by="id")
    return [(e["message"], e["time_source"]) for e in rows]


def test_two_runners_stamp_events_each_with_their_own_clock(demo_dir: Path, demo_jobs) -> None:
    store = Store.open(demo_dir)
    try:
        on_phone_time = Clock(kernel=lambda: None)
        now_ms = time.time() * 1000
        on_phone_time.offer_phone(now_ms, now_ms + 20, now_ms + 40)
        unsynchronised = Clock(kernel=lambda: None)
        driver: RadioDriver = None  # type: ignore[assignment]  # notes never use the radio
        first = Runner(store, driver, clock=on_phone_time)
        second = Runner(store, driver, clock=unsynchronised)
        job_id = demo_jobs[0]["id"]
        first.note(job_id, "note", "by the first")
        second.note(job_id, "note", "by the second")
        first.note(job_id, "note", "by the first again")
        stamps = [s for s in _stamps(store, job_id) if s[0].startswith("by the")]
        assert stamps == [
            ("by the first", "phone"),
            ("by the second", "unsynchronised"),
            ("by the first again", "phone"),
        ]
        assert first.time_quality().source == "phone"
        assert second.time_quality().uncertainty_s is None  # unknown, not infinite
    finally:
        store.close()
