"""The append-only, hash-chained job event log.

Each event's hash covers the previous event's hash, so editing or deleting a
row after the fact breaks the chain; :func:`verify_chain` finds where.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from webapp.store.clock import utc_now
from webapp.store.sql import insert_row

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class TimeQuality:
    """Which clock stamped an event and how good it was when it did."""

    source: str  # e.g. "system", "hub", "phone"
    uncertainty_s: float | None  # None: unknown (unbounded)
    offset_s: float  # the estimate's correction to the system clock


def _digest(prev_hash: str, job_id: str, at: str, kind: str, message: str, data: str) -> str:
    material = "\x1f".join([prev_hash, job_id, at, kind, message, data])
    return hashlib.sha256(material.encode()).hexdigest()


def append_event(
    db: Database,
    job_id: str,
    kind: str,
    message: str,
    data: dict[str, Any] | None = None,
    actor: str = "hht",
    *,
    time_quality: TimeQuality | None = None,
) -> dict[str, Any]:
    """Append one event for ``job_id`` (call inside the writer's transaction).

    ``time_quality`` is the terminal clock's quality at the time; None leaves the
    event's time unjudged (the system clock)."""
    row = db.execute(
        "SELECT hash FROM job_events WHERE job_id = ? ORDER BY id DESC LIMIT 1", [job_id]
    ).fetchone()
    prev_hash = row[0] if row else GENESIS_HASH
    at = utc_now()
    data_json = json.dumps(data or {}, sort_keys=True, separators=(",", ":"))
    event = {
        "job_id": job_id,
        "at": at,
        "kind": kind,
        "message": message,
        "data": data_json,
        "actor": actor,
        "prev_hash": prev_hash,
        "hash": _digest(prev_hash, job_id, at, kind, message, data_json),
    }
    if time_quality is not None:
        event.update(
            time_source=time_quality.source,
            time_uncertainty_s=time_quality.uncertainty_s,
            time_offset_s=time_quality.offset_s,
        )
    event["id"] = insert_row(db, "job_events", event)
    return event


def events_for(db: Database, job_id: str, limit: int | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM job_events WHERE job_id = ? ORDER BY id"
    params: list[Any] = [job_id]
    if limit is not None:
        sql = f"SELECT * FROM ({sql} DESC LIMIT ?) ORDER BY id"
        params.append(limit)
    return [dict(r) for r in db.query(sql, params)]


def verify_chain(db: Database, job_id: str) -> int | None:
    """The id of the first event whose hash does not check, or None if all do."""
    prev_hash = GENESIS_HASH
    for ev in db.query("SELECT * FROM job_events WHERE job_id = ? ORDER BY id", [job_id]):
        expected = _digest(prev_hash, job_id, ev["at"], ev["kind"], ev["message"], ev["data"])
        if ev["prev_hash"] != prev_hash or ev["hash"] != expected:
            return ev["id"]
        prev_hash = ev["hash"]
    return None
