"""What the last check of the chain found, and the checks that record it.

``audit_state`` holds one row: the last event a check found intact (sequence and link:
the next start-up walks only what came after it), when the chain was last checked and
last walked whole, and the break found, if any.  A break stays recorded until a full walk
(``hht audit verify``) finds the chain intact: a check of the newest events only cannot
vouch for the older ones.  A check that finds the chain intact records its head
(``audit_heads`` and the head file); a newly found break is logged as an error and added to
the chain itself as an ``audit-broken`` event of the terminal.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from webapp.store.audit.append import append_terminal_event
from webapp.store.audit.heads import RecordedHead, record_checkpoint, write_head_file
from webapp.store.audit.key import load_key
from webapp.store.audit.verify import Problem, Report, verify_all, verify_since
from webapp.store.clock import utc_now

if TYPE_CHECKING:
    from webapp.store.db import Store

log = logging.getLogger(__name__)

STATE_ROW_ID = 1
BROKEN_EVENT_KIND = "audit-broken"
START_UP = "start-up"
VERIFY = "verify"
PERIODIC = "periodic"
READ_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class LastCheck:
    verified_seq: int | None = None  # the last event found intact
    verified_link: str | None = None
    checked_at: str | None = None
    full_check_at: str | None = None  # the last walk of the whole chain
    broken: Problem | None = None
    broken_found_at: str | None = None

    @property
    def since(self) -> tuple[int, str] | None:
        if self.verified_seq is None or self.verified_link is None:
            return None
        return self.verified_seq, self.verified_link


def last_check(db: Database) -> LastCheck:
    row = db.execute(
        "SELECT verified_seq, verified_link, checked_at, full_check_at, broken_kind, "
        "broken_seq, broken_detail, broken_job, broken_event_id, broken_found_at "
        "FROM audit_state WHERE id = ?",
        [STATE_ROW_ID],
    ).fetchone()
    if row is None:
        return LastCheck()
    broken = Problem(row[4], row[5], row[6], row[7], row[8]) if row[4] else None
    return LastCheck(row[0], row[1], row[2], row[3], broken, row[9])


def _save(db: Database, check: LastCheck) -> None:
    broken = check.broken
    values: dict[str, Any] = {
        "id": STATE_ROW_ID,
        "verified_seq": check.verified_seq,
        "verified_link": check.verified_link,
        "checked_at": check.checked_at,
        "full_check_at": check.full_check_at,
        "broken_kind": broken.kind if broken else None,
        "broken_seq": broken.seq if broken else None,
        "broken_detail": broken.detail if broken else None,
        "broken_job": broken.job_id if broken else None,
        "broken_event_id": broken.event_id if broken else None,
        "broken_found_at": check.broken_found_at if broken else None,
    }
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    db.execute(
        f"INSERT OR REPLACE INTO audit_state ({columns}) VALUES ({marks})", list(values.values())
    )


def record_result(
    db: Database, key: bytes, report: Report, *, full: bool, reason: str, at: str
) -> RecordedHead | None:
    """Keep what ``report`` found (in the caller's transaction); the head recorded when the
    chain is intact, for :func:`webapp.store.audit.heads.write_head_file` after commit."""
    previous = last_check(db)
    broken, found_at = report.broken, at
    if broken is None and not full and previous.broken is not None:
        broken, found_at = previous.broken, previous.broken_found_at  # older: not re-walked
    elif broken is not None and _same(broken, previous.broken):
        found_at = previous.broken_found_at or at
    elif broken is not None:
        append_terminal_event(
            db,
            BROKEN_EVENT_KIND,
            f"Audit chain broken at event {broken.seq}: {broken.detail}",
            {"found_by": reason, **broken.to_dict()},
        )
    intact_to = (
        (report.last_seq, report.last_link)
        if report.intact and report.last_seq is not None and report.last_link is not None
        else None
    )
    _save(
        db,
        LastCheck(
            verified_seq=intact_to[0] if intact_to else previous.verified_seq,
            verified_link=intact_to[1] if intact_to else previous.verified_link,
            checked_at=at,
            full_check_at=at if full else previous.full_check_at,
            broken=broken,
            broken_found_at=found_at if broken else None,
        ),
    )
    if broken is not None or intact_to is None:
        return None
    return record_checkpoint(db, key, intact_to, reason, at)


def _same(one: Problem, other: Problem | None) -> bool:
    return other is not None and (one.kind, one.seq) == (other.kind, other.seq)


@contextmanager
def _own_reader(store: Store) -> Iterator[Database]:
    """A connection of its own: a check may run on any thread, and leaves none open."""
    reader = Database(
        sqlite3.connect(store.path, timeout=READ_TIMEOUT_SECONDS, isolation_level=None),
        execute_plugins=False,
    )
    try:
        yield reader
    finally:
        reader.conn.close()


def _check(store: Store, *, full: bool, reason: str) -> Report:
    key = load_key(store.data_dir)  # read afresh: refuses a key others can read
    with _own_reader(store) as reader:
        if full:
            report = verify_all(reader, key, store.data_dir)
        else:
            report = verify_since(reader, key, store.data_dir, last_check(reader).since)
    with store.write() as db:
        recorded = record_result(db, key, report, full=full, reason=reason, at=utc_now())
    if recorded is not None:
        write_head_file(store.data_dir, recorded)
    broken = report.broken
    if broken is not None:
        log.error(
            "AUDIT CHAIN BROKEN at event %s (%s): %s%s",
            broken.seq,
            broken.kind,
            broken.detail,
            f" (and {len(report.problems) - 1 + report.more_problems} more problems)"
            if len(report.problems) > 1
            else "",
        )
    return report


def check_on_open(store: Store) -> Report:
    """The start-up check: the events since the last check, the whole table's sequence and
    every recorded head.  Raises AuditKeyError when the key cannot be used."""
    report = _check(store, full=False, reason=START_UP)
    if report.intact:
        log.info(
            "audit chain verified up to event %s (%d new events walked)",
            report.last_seq,
            report.events,
        )
    return report


def check_new_events(store: Store) -> Report | None:
    """Walk and record the events added since the last check, as the start-up check does;
    None, with nothing recorded, when there are none.  The running terminal does this
    every ``AUDIT_CHECK_SECONDS`` (:mod:`webapp.station`), so what a job's page walks when
    it is drawn (the events since the last check) stays short however long the terminal
    has been up.  Raises AuditKeyError when the key cannot be used."""
    with _own_reader(store) as reader:
        newest = reader.execute("SELECT max(seq) FROM job_events").fetchone()[0]
        if newest is None or newest == last_check(reader).verified_seq:
            return None
    return _check(store, full=False, reason=PERIODIC)


def verify_and_record(store: Store) -> Report:
    """Walk the whole chain (``hht audit verify``) and record what was found."""
    return _check(store, full=True, reason=VERIFY)
