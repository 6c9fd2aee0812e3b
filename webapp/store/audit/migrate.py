"""Schema m007: the audit chain starts over the events already in the log.

The tables (the head row, recorded heads, the last check), a sequence number and a MAC on
every event, the key made, every existing event re-chained in id order from its current
content, and a start marker appended: history before the upgrade is anchored from here on.
The old per-job hash chains are checked first and any break is written into the marker,
since re-chaining would otherwise hide it.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from webapp.store.audit.append import append_terminal_event
from webapp.store.audit.chain import GENESIS, normalise, seal, write_head
from webapp.store.audit.heads import head_file_path, record_checkpoint, write_head_file
from webapp.store.audit.key import create_key, data_dir_of
from webapp.store.clock import utc_now

log = logging.getLogger(__name__)

START_KIND = "audit-chain-start"
MIGRATION = "migration"
#: The triggers that keep job_events append-only (schema m001), made again after re-chaining.
APPEND_ONLY_TRIGGERS = {
    "job_events_append_only_update": "BEFORE UPDATE ON job_events",
    "job_events_append_only_delete": "BEFORE DELETE ON job_events",
    "audit_heads_append_only_update": "BEFORE UPDATE ON audit_heads",
    "audit_heads_append_only_delete": "BEFORE DELETE ON audit_heads",
}
_EVENT_COLUMNS = (
    "id, job_id, at, kind, message, data, actor, time_source, time_uncertainty_s, "
    "time_offset_s, prev_hash, hash"
)


def _create_tables(db: Database) -> None:
    db.execute(
        "CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "seq INTEGER NOT NULL, link TEXT NOT NULL, mac TEXT NOT NULL)"
    )
    db["audit_heads"].create(
        {
            "id": int,
            "seq": int,
            "link": str,
            "mac": str,  # the keyed head MAC
            "at": str,
            "reason": str,  # migration | start-up | verify | unload
            "unload_id": int,
            "signature": str,  # an unload's head, signed by the terminal's identity key
        },
        pk="id",
        not_null={"seq", "link", "mac", "at", "reason"},
    )
    db["audit_heads"].create_index(["seq"])
    db["audit_heads"].create_index(["unload_id"])
    db.execute(
        "CREATE TABLE audit_state (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "verified_seq INTEGER, verified_link TEXT, checked_at TEXT, full_check_at TEXT, "
        "broken_kind TEXT, broken_seq INTEGER, broken_detail TEXT, broken_job TEXT, "
        "broken_event_id INTEGER, broken_found_at TEXT)"
    )


def _legacy_digest(prev_hash: str, job_id: str, at: str, kind: str, message: str, data: str) -> str:
    """The per-job hash of schema m001 (no key, no actor, no time quality)."""
    material = "\x1f".join([prev_hash, job_id, at, kind, message, data])
    return hashlib.sha256(material.encode()).hexdigest()


def _legacy_breaks(rows: list[tuple]) -> list[int]:
    """Ids of the first event of each job whose old per-job hash did not check."""
    prev: dict[str, str] = {}
    broken: dict[str, int] = {}
    for row in rows:
        event_id, job_id, at, kind, message, data = row[:6]
        prev_hash, stored = row[10], row[11]
        if job_id in broken:
            continue
        expected_prev = prev.get(job_id, GENESIS)
        try:
            ok = prev_hash == expected_prev and stored == _legacy_digest(
                expected_prev, job_id, at, kind, message, data
            )
        except TypeError:  # a NULL where the old chain had text
            ok = False
        if not ok:
            broken[job_id] = event_id
        prev[job_id] = stored
    return sorted(broken.values())


def start_chain(db: Database) -> None:
    """Schema m007 (runs inside the migration's transaction)."""
    data_dir = data_dir_of(db)
    key = create_key(data_dir)
    stale = head_file_path(data_dir)
    if stale.exists():  # a head of some earlier database in this directory
        aside = stale.with_name(f"{stale.name}.before-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
        stale.rename(aside)
        log.warning("an older audit head file was moved to %s", aside)
    _create_tables(db)
    db["job_events"].add_column("seq", int)
    db["job_events"].add_column("mac", str)
    rows = db.execute(f"SELECT {_EVENT_COLUMNS} FROM job_events ORDER BY id").fetchall()
    legacy_broken = _legacy_breaks(rows)
    for name in APPEND_ONLY_TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    link, updates = GENESIS, []
    for seq, row in enumerate(rows, 1):
        event = seal(
            normalise(
                {
                    "id": row[0],
                    "seq": seq,
                    "job_id": row[1],
                    "at": row[2],
                    "kind": row[3],
                    "message": row[4],
                    "data": row[5],
                    "actor": row[6],
                    "time_source": row[7],
                    "time_uncertainty_s": row[8],
                    "time_offset_s": row[9],
                }
            ),
            link,
            key,
        )
        link = event["hash"]
        updates.append((seq, event["prev_hash"], link, event["mac"], row[0]))
    db.conn.executemany(
        "UPDATE job_events SET seq = ?, prev_hash = ?, hash = ?, mac = ? WHERE id = ?", updates
    )
    db.execute("CREATE UNIQUE INDEX job_events_seq ON job_events (seq)")
    if rows:
        write_head(db, key, len(rows), link)
    for name, event in APPEND_ONLY_TRIGGERS.items():
        table = event.split()[-1]
        db.execute(
            f"CREATE TRIGGER {name} {event} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )
    _mark_start(db, key, data_dir, len(rows), legacy_broken)


def _mark_start(
    db: Database, key: bytes, data_dir: Path, rechained: int, legacy_broken: list[int]
) -> None:
    message = "Audit chain started"
    if rechained:
        message += (
            f": the {rechained} earlier events were chained from their content at the upgrade"
        )
    if legacy_broken:
        message += f"; the old per-job hashes did not check at events {legacy_broken}"
    marker = append_terminal_event(
        db,
        START_KIND,
        message,
        {"rechained": rechained, "legacy_broken_event_ids": legacy_broken},
    )
    at = utc_now()
    head = (marker["seq"], marker["hash"])
    db.execute(
        "INSERT INTO audit_state (id, verified_seq, verified_link, checked_at, full_check_at) "
        "VALUES (1, ?, ?, ?, ?)",
        [head[0], head[1], at, at],
    )
    recorded = record_checkpoint(db, key, head, MIGRATION, at)
    write_head_file(data_dir, recorded)
    if legacy_broken:
        log.error("the old per-job event hashes did not check at events %s", legacy_broken)
    log.info("audit chain started over %d events", rechained)
