"""Appending one event to the chain: sequence, link and MAC, and the head moved with it."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlite_utils import Database

from webapp.store.audit.chain import GENESIS, last_event, normalise, read_head, seal, write_head
from webapp.store.audit.key import key_for
from webapp.store.clock import utc_now
from webapp.store.sql import insert_row

log = logging.getLogger(__name__)


def _previous(db: Database) -> tuple[int, str]:
    """The sequence and link the next event follows: the head row's, which moves with every
    append (so an event appended after the newest were deleted leaves the gap showing)."""
    head = read_head(db)
    if head is not None:
        return head.seq, head.link
    last = last_event(db)
    if last is not None:
        log.error("the audit chain's head row is missing; continuing from event %d", last[0])
        return last
    return 0, GENESIS


def append(db: Database, fields: dict[str, Any]) -> dict[str, Any]:
    """Insert the event ``fields`` (job_id, kind, message, data as JSON text, actor and the
    time quality columns) as the chain's next event, in the caller's transaction; the row
    as stored."""
    key = key_for(db)
    prev_seq, prev_link = _previous(db)
    event_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM job_events").fetchone()[0]
    row = normalise({**fields, "id": event_id, "seq": prev_seq + 1, "at": utc_now()})
    event = seal(row, prev_link, key)
    insert_row(db, "job_events", event)
    write_head(db, key, event["seq"], event["hash"])
    return event


def append_terminal_event(
    db: Database, kind: str, message: str, data: dict[str, Any], actor: str = "hht"
) -> dict[str, Any]:
    """An event of the terminal itself (no job): the chain's start, a break found, a user
    added or changed (``actor``: who did it)."""
    return append(
        db,
        {
            "job_id": None,
            "kind": kind,
            "message": message,
            "data": json.dumps(data, sort_keys=True, separators=(",", ":")),
            "actor": actor,
        },
    )
