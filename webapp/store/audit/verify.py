"""Walking the chain: every event in sequence, then the heads recorded outside it.

A full walk (``hht audit verify``) recomputes every record, link and MAC.  The start-up
check and the job page walk only the events since the last check, with the cheap checks
over the whole table (no gap in the sequence numbers, the head row, every recorded head).
Problems are reported in sequence order; the first is where the chain breaks.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from webapp.store.audit.chain import (
    EVENT_LABEL,
    GENESIS,
    RECORD_COLUMNS,
    RECORD_ENCODER,
    digest_of,
    link_of,
    read_head,
    record_text,
)
from webapp.store.audit.heads import (
    HeadFileError,
    RecordedHead,
    read_head_file,
    recorded_heads,
)

# What can be wrong (Problem.kind).
MISSING = "missing"  # a gap in the sequence: events deleted
DELETED_TAIL = "deleted-tail"  # the newest events deleted: the log ends before a recorded head
CHANGED = "changed"  # a row no longer matches its link: a column was edited
REORDERED = "reordered"  # an intact row that follows another event than the one before it
BAD_MAC = "bad-mac"  # the links recompute but the MAC does not: re-chained without the key
DUPLICATE = "duplicate"  # two events with one sequence number
OUTSIDE = "outside-chain"  # an event row with no sequence number: written past the chain
HEAD = "head"  # the head row, the head file or a recorded head disagrees with the log
EMPTY = "empty"  # no events at all: even the chain's start marker is gone

#: The walk keeps this many problems (and counts the rest).
MAX_PROBLEMS = 50
EVENT_COLUMNS = ", ".join((*RECORD_COLUMNS, "prev_hash", "hash", "mac"))
_RECORD_WIDTH = len(RECORD_COLUMNS)
_UNSEQUENCED = math.inf


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the chain, at sequence number ``seq`` (None: not at an event)."""

    kind: str
    seq: int | None
    detail: str
    job_id: str | None = None
    event_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def order(self) -> float:
        return _UNSEQUENCED if self.seq is None else self.seq


@dataclass
class Report:
    """What a walk found: how far it went and every problem (the first is the break)."""

    events: int = 0  # events walked (recomputed) by this check
    first_seq: int | None = None
    last_seq: int | None = None
    last_link: str | None = None
    problems: list[Problem] = field(default_factory=list)
    more_problems: int = 0  # found beyond MAX_PROBLEMS
    _seen: set[tuple[str, int | None]] = field(default_factory=set, repr=False)

    def add(self, problem: Problem) -> None:
        marker = (problem.kind, problem.seq)
        if marker in self._seen:
            return
        self._seen.add(marker)
        if len(self.problems) >= MAX_PROBLEMS:
            self.more_problems += 1
            return
        self.problems.append(problem)
        self.problems.sort(key=lambda p: p.order)

    @property
    def broken(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "events_checked": self.events,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "head_link": self.last_link,
            "broken": self.broken.to_dict() if self.broken else None,
            "problems": [p.to_dict() for p in self.problems],
            "more_problems": self.more_problems,
        }


def _job(job_id: str | None) -> str:
    return f"job {job_id}" if job_id else "the terminal's own event"


def _span(first: int, last: int) -> str:
    return f"event {first} is" if first == last else f"events {first} to {last} are"


def walk(db: Database, key: bytes, report: Report, start: tuple[int, str] | None = None) -> None:
    """Recompute every event from ``start`` (sequence, link of an event checked before) or
    from the first, adding what is wrong to ``report``."""
    sql = f"SELECT {EVENT_COLUMNS} FROM job_events WHERE seq IS NOT NULL"
    params: list[Any] = []
    if start is not None:
        sql += " AND seq >= ?"
        params.append(start[0])
    rows = db.conn.execute(sql + " ORDER BY seq", params)
    expected_seq, expected_prev = 1, GENESIS
    if start is not None:
        first = rows.fetchone()
        seq, link = start
        if first is None or first[1] != seq or first[12] != link:
            report.add(
                Problem(
                    CHANGED if first is not None and first[1] == seq else MISSING,
                    seq,
                    f"event {seq}, checked before, is no longer as it was checked "
                    "(changed or deleted since)",
                )
            )
        if first is not None:
            report.first_seq = first[1]
            expected_seq, expected_prev = first[1] + 1, first[12]
            report.last_seq, report.last_link = first[1], first[12]
    count = 0
    for row in rows:
        count += 1
        seq, link = row[1], row[12]
        if not (seq == expected_seq and row[_RECORD_WIDTH] == expected_prev and _sound(row, key)):
            _check_row(row, key, expected_seq, expected_prev, report)
        if report.first_seq is None:
            report.first_seq = seq
        expected_seq, expected_prev = seq + 1, link
    report.events += count
    if count:
        report.last_seq, report.last_link = expected_seq - 1, expected_prev


def _sound(row: tuple[Any, ...], key: bytes) -> bool:
    """Whether the row matches its link and its MAC (the walk's fast path)."""
    try:
        record = RECORD_ENCODER.encode(row[:_RECORD_WIDTH]).encode("ascii")
        link = row[12]
        computed = hashlib.sha256(
            bytes.fromhex(row[_RECORD_WIDTH]) + hashlib.sha256(record).digest()
        ).hexdigest()
        if computed != link:
            return False
        mac = hmac.digest(key, EVENT_LABEL + bytes.fromhex(link), "sha256").hex()
        return hmac.compare_digest(mac, row[13])
    except (TypeError, ValueError, UnicodeEncodeError):
        return False


def _recomputed_link(row: tuple[Any, ...]) -> str | None:
    record = record_text(row[:_RECORD_WIDTH])
    prev = row[_RECORD_WIDTH]
    if record is None or not isinstance(prev, str):
        return None
    try:
        return link_of(prev, digest_of(record))
    except (ValueError, UnicodeEncodeError):
        return None


def _mac_ok(key: bytes, link: str, mac: Any) -> bool:
    try:
        expected = hmac.digest(key, EVENT_LABEL + bytes.fromhex(link), "sha256").hex()
    except ValueError:
        return False
    return isinstance(mac, str) and hmac.compare_digest(expected, mac)


def _check_row(
    row: tuple[Any, ...], key: bytes, expected_seq: int, expected_prev: str, report: Report
) -> None:
    event_id, seq, job_id = row[0], row[1], row[2]
    prev, link, mac = row[_RECORD_WIDTH], row[12], row[13]
    where = f"{_job(job_id)}, id {event_id}"
    gap = False
    if seq > expected_seq:
        gap = True
        report.add(
            Problem(
                MISSING,
                expected_seq,
                f"{_span(expected_seq, seq - 1)} missing: deleted from the log "
                f"(event {seq}, {where}, follows the gap)",
            )
        )
    elif seq < expected_seq:
        report.add(Problem(DUPLICATE, seq, f"a second event {seq} ({where})", job_id, event_id))
    if _recomputed_link(row) != link:
        report.add(
            Problem(
                CHANGED,
                seq,
                f"event {seq} ({where}) was changed after it was written: its row no longer "
                "matches its hash",
                job_id,
                event_id,
            )
        )
    elif prev != expected_prev and not gap:
        report.add(
            Problem(
                REORDERED,
                seq,
                f"event {seq} ({where}) follows another event than event {seq - 1}: "
                "events were moved, inserted or re-linked",
                job_id,
                event_id,
            )
        )
    elif not _mac_ok(key, link, mac):
        report.add(
            Problem(
                BAD_MAC,
                seq,
                f"event {seq} ({where}) has a bad HMAC: the chain was recomputed without "
                "this terminal's key",
                job_id,
                event_id,
            )
        )


def check_structure(db: Database, report: Report) -> None:
    """The cheap whole-table checks: every event has a sequence number and they run from 1
    with no gap and no repeat."""
    count, low, high, unsequenced = db.execute(
        "SELECT count(*), min(seq), max(seq), count(*) - count(seq) FROM job_events"
    ).fetchone()
    if unsequenced:
        for event_id, job_id in db.execute(
            "SELECT id, job_id FROM job_events WHERE seq IS NULL ORDER BY id LIMIT ?",
            [MAX_PROBLEMS],
        ).fetchall():
            report.add(
                Problem(
                    OUTSIDE,
                    None,
                    f"event id {event_id} ({_job(job_id)}) was written outside the chain",
                    job_id,
                    event_id,
                )
            )
    if count == unsequenced:
        report.add(Problem(EMPTY, 1, "the log has no events: even the chain's start is gone"))
        return
    if low == 1 and high == count - unsequenced:
        return
    for seq, before, job_id, event_id in db.execute(
        """SELECT seq, before, job_id, id FROM (
               SELECT seq, job_id, id, LAG(seq, 1, 0) OVER (ORDER BY seq) AS before
               FROM job_events WHERE seq IS NOT NULL)
           WHERE seq != before + 1 ORDER BY seq LIMIT ?""",
        [MAX_PROBLEMS],
    ).fetchall():
        where = f"{_job(job_id)}, id {event_id}"
        if seq > before + 1:
            report.add(
                Problem(
                    MISSING,
                    before + 1,
                    f"{_span(before + 1, seq - 1)} missing: deleted from the log "
                    f"(event {seq}, {where}, follows the gap)",
                )
            )
        else:
            report.add(Problem(DUPLICATE, seq, f"a second event {seq} ({where})", job_id, event_id))


def read_file_head(data_dir: Path, report: Report) -> RecordedHead | None:
    """The head file's head (read it before the snapshot the walk reads: a file written
    after a later commit must not look ahead of the log)."""
    try:
        head = read_head_file(data_dir)
    except HeadFileError as exc:
        report.add(Problem(HEAD, None, str(exc)))
        return None
    if head is None:
        report.add(Problem(HEAD, None, "the head file (audit/head.json) is missing"))
    return head


def check_heads(db: Database, key: bytes, file_head: RecordedHead | None, report: Report) -> None:
    """The head row, the head file's head and every recorded head against the log."""
    last = db.execute("SELECT max(seq) FROM job_events").fetchone()[0] or 0
    head = read_head(db)
    if head is None:
        report.add(Problem(HEAD, last + 1, "the chain's head row is missing"))
    elif not head.genuine(key):
        report.add(Problem(HEAD, head.seq, "the chain's head row was forged: its HMAC is bad"))
    else:
        _against_log(
            db,
            RecordedHead(head.seq, head.link, head.mac, "", "append", "the head row"),
            last,
            report,
        )
    for recorded in [*recorded_heads(db), *([file_head] if file_head else [])]:
        if not recorded.genuine(key):
            report.add(Problem(HEAD, recorded.seq, f"{recorded.where} was forged: bad HMAC"))
        else:
            _against_log(db, recorded, last, report)


@contextmanager
def snapshot(db: Database) -> Iterator[None]:
    """One read transaction for the whole check (unless ``db`` is in one already), so an
    event committed meanwhile cannot make the head row look ahead of the walk."""
    if db.conn.in_transaction:
        yield
        return
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.execute("ROLLBACK")


def _against_log(db: Database, recorded: RecordedHead, last: int, report: Report) -> None:
    row = db.execute(
        "SELECT hash, job_id, id FROM job_events WHERE seq = ?", [recorded.seq]
    ).fetchone()
    if recorded.seq > last:
        report.add(
            Problem(
                DELETED_TAIL,
                last + 1,
                f"{_span(last + 1, recorded.seq)} missing: the log ends at event {last} but "
                f"{recorded.where} says it reached event {recorded.seq} (the newest events "
                "were deleted)",
            )
        )
    elif recorded.seq < last and recorded.reason == "append":
        report.add(
            Problem(
                HEAD,
                recorded.seq + 1,
                f"events after {recorded.seq} were added outside the chain "
                f"({recorded.where} is at {recorded.seq}, the log at {last})",
            )
        )
    elif row is not None and row[0] != recorded.link:
        report.add(
            Problem(
                HEAD,
                recorded.seq,
                f"event {recorded.seq} ({_job(row[1])}, id {row[2]}) is not the event "
                f"{recorded.where} holds: the chain was rewritten up to there",
                row[1],
                row[2],
            )
        )


def verify_all(db: Database, key: bytes, data_dir: Path) -> Report:
    """Walk the whole chain, then check every recorded head."""
    report = Report()
    file_head = read_file_head(data_dir, report)
    with snapshot(db):
        walk(db, key, report)
        check_structure(db, report)  # rows the walk cannot see (no sequence number)
        check_heads(db, key, file_head, report)
    return report


def verify_since(db: Database, key: bytes, data_dir: Path, since: tuple[int, str] | None) -> Report:
    """The cheap whole-table checks, then the walk from ``since`` (the last event checked
    before: its sequence and link), then the recorded heads.  ``since`` None walks all."""
    report = Report()
    file_head = read_file_head(data_dir, report)
    with snapshot(db):
        check_structure(db, report)
        walk(db, key, report, since)
        check_heads(db, key, file_head, report)
    return report


def check_job_events(db: Database, key: bytes, job_id: str) -> Problem | None:
    """The first problem with ``job_id``'s own events: each row against its link and MAC,
    and its link against the event before it in the device's chain."""
    report = Report()
    rows = db.conn.execute(
        f"""SELECT {", ".join("e." + c for c in EVENT_COLUMNS.split(", "))},
                   p.hash, p.seq
            FROM job_events e LEFT JOIN job_events p ON p.seq = e.seq - 1
            WHERE e.job_id = ? ORDER BY e.seq""",
        [job_id],
    )
    for row in rows:
        event = row[:14]
        before_link, before_seq = row[14], row[15]
        seq = event[1]
        if seq is None:
            report.add(
                Problem(
                    OUTSIDE,
                    None,
                    f"event id {event[0]} was written outside the chain",
                    job_id,
                    event[0],
                )
            )
            continue
        expected_prev = GENESIS if seq == 1 else before_link
        if seq > 1 and before_seq is None:
            report.add(
                Problem(
                    MISSING,
                    seq - 1,
                    f"event {seq - 1}, just before job {job_id}'s event {seq}, is missing: "
                    "deleted from the log",
                )
            )
            expected_prev = event[_RECORD_WIDTH]
        _check_row(event, key, seq, expected_prev, report)
    return report.broken
