"""Audit chain figures for ``make bench``: what appending an event costs, and how fast the
whole chain is verified (``hht audit verify``) and the start-up check runs."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from webapp.store.audit import chain
from webapp.store.audit.key import load_key
from webapp.store.audit.state import check_on_open
from webapp.store.audit.verify import verify_all
from webapp.store.db import Store
from webapp.store.events import TimeQuality, append_event

VERIFY_EVENTS = 100_000
APPEND_EVENTS = 5_000
APPEND_BATCH = 500  # events per transaction: the figure is the append, not the disk's commit
SEAL_RUNS = 20_000
INSERT_BATCH = 5_000
SUPPLIER = "90B3D51F30DE0001"
JOB = "BENCH-AUDIT"
QUALITY = TimeQuality("hub", 0.5, -0.25)


def _job(store: Store) -> None:
    with store.write() as db:
        db["suppliers"].insert({"eui": SUPPLIER, "name": "bench"})
        db["jobs"].insert(
            {
                "id": JOB,
                "site": "1 Bench Street",
                "mpxn": "1",
                "supplier_eui": SUPPLIER,
                "status": "running",
                "expected_hub_id": "00DB000000000001",
            }
        )


def _append_us(store: Store, events: int) -> float:
    started = time.perf_counter()
    for first in range(0, events, APPEND_BATCH):
        with store.write() as db:
            for n in range(first, min(events, first + APPEND_BATCH)):
                append_event(
                    db, JOB, "command", f"Command {n} answered", {"seq": n}, time_quality=QUALITY
                )
    return (time.perf_counter() - started) / events * 1e6


def _seal_us(key: bytes) -> float:
    """The chain's own share of an append: the record, its link and its MAC."""
    row = chain.normalise(
        {
            "id": 1,
            "seq": 1,
            "job_id": JOB,
            "at": "2026-01-01T00:00:00.000+00:00",
            "kind": "command",
            "message": "Command 1 answered",
            "data": '{"seq":1}',
            "actor": "hht",
            "time_source": "hub",
            "time_uncertainty_s": 0.5,
            "time_offset_s": -0.25,
        }
    )
    started = time.perf_counter()
    for _ in range(SEAL_RUNS):
        chain.seal(row, chain.GENESIS, key)
    return (time.perf_counter() - started) / SEAL_RUNS * 1e6


def _fill(store: Store, key: bytes, total: int) -> None:
    """Bring the chain to ``total`` events quickly (sealed here, inserted in bulk)."""
    with store.write() as db:
        head = chain.read_head(db)
        assert head is not None
        seq, link = head.seq, head.link
        rows = []
        while seq < total:
            seq += 1
            event = chain.seal(
                chain.normalise(
                    {
                        "id": seq,
                        "seq": seq,
                        "job_id": JOB,
                        "at": "2026-01-01T00:00:00.000+00:00",
                        "kind": "command",
                        "message": f"Command {seq} answered",
                        "data": f'{{"seq":{seq}}}',
                        "actor": "hht",
                        "time_source": "hub",
                        "time_uncertainty_s": 0.5,
                        "time_offset_s": -0.25,
                    }
                ),
                link,
                key,
            )
            link = event["hash"]
            rows.append(event)
        db["job_events"].insert_all(rows, batch_size=INSERT_BATCH)
        chain.write_head(db, key, seq, link)


def audit_figures(events: int = VERIFY_EVENTS, appended: int = APPEND_EVENTS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        store = Store.open(data_dir)
        try:
            _job(store)
            key = load_key(data_dir)
            append_us = _append_us(store, appended)
            seal_us = _seal_us(key)
            _fill(store, key, events)
            started = time.perf_counter()
            report = verify_all(store.reader(), key, data_dir)
            verify_s = time.perf_counter() - started
            assert report.intact, report.to_dict()
            check_on_open(store)  # records the head: the next start-up has nothing new
            started = time.perf_counter()
            check_on_open(store)
            startup_ms = (time.perf_counter() - started) * 1000
        finally:
            store.close()
    return {
        "events": report.events,
        "verify_seconds": verify_s,
        "verify_events_per_second": report.events / verify_s,
        "append_us_per_event": append_us,
        "append_batch": APPEND_BATCH,
        "chain_us_per_event": seal_us,
        "startup_check_ms": startup_ms,
    }
