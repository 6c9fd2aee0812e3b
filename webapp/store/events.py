"""The append-only job event log, one keyed chain over every event of the terminal.

Each event joins the device's audit chain (:mod:`webapp.store.audit`): its link covers
every column of its row and the previous event's link, its MAC the link under the
terminal's audit key, and the chain's head moves with it in the same transaction.  Walking
the chain (``hht audit verify``) finds an edited, removed, reordered or re-hashed event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from webapp.store.audit.append import append
from webapp.store.audit.chain import GENESIS
from webapp.store.audit.key import key_for
from webapp.store.audit.verify import check_job_events

GENESIS_HASH = GENESIS


@dataclass(frozen=True)
class TimeQuality:
    """Which clock stamped an event and how good it was when it did."""

    source: str  # e.g. "system", "hub", "phone"
    uncertainty_s: float | None  # None: unknown (unbounded)
    offset_s: float  # the estimate's correction to the system clock


def append_event(
    db: Database,
    job_id: str | None,
    kind: str,
    message: str,
    data: dict[str, Any] | None = None,
    actor: str = "hht",
    *,
    time_quality: TimeQuality | None = None,
) -> dict[str, Any]:
    """Append one event for ``job_id`` (None: the terminal's own) to the chain (call
    inside the writer's transaction).

    ``time_quality`` is the terminal clock's quality at the time; None leaves the
    event's time unjudged (the system clock)."""
    return append(
        db,
        {
            "job_id": job_id,
            "kind": kind,
            "message": message,
            "data": json.dumps(data or {}, sort_keys=True, separators=(",", ":")),
            "actor": actor,
            "time_source": time_quality.source if time_quality else None,
            "time_uncertainty_s": time_quality.uncertainty_s if time_quality else None,
            "time_offset_s": time_quality.offset_s if time_quality else None,
        },
    )


def events_for(db: Database, job_id: str, limit: int | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM job_events WHERE job_id = ? ORDER BY seq"
    params: list[Any] = [job_id]
    if limit is not None:
        sql = f"SELECT * FROM ({sql} DESC LIMIT ?) ORDER BY seq"
        params.append(limit)
    return [dict(r) for r in db.query(sql, params)]


def verify_chain(db: Database, job_id: str) -> int | None:
    """The id of the first of ``job_id``'s events that does not check (its row, its MAC or
    its place in the device's chain), or None if all do.  The whole chain:
    :mod:`webapp.store.audit.verify`."""
    problem = check_job_events(db, key_for(db), job_id)
    return None if problem is None else problem.event_id
