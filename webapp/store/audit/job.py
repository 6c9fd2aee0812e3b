"""What a supervisor's job page says about the audit chain, checked when the page is drawn.

Checked now: the whole table's sequence (no gap, no repeat), the job's own events (each row
against its link and MAC, each link against the event before it), every event since the
last check (the running terminal checks every ``AUDIT_CHECK_SECONDS``, so these are few),
and every recorded head.  Older events of other jobs were checked when the
terminal last checked them (start-up or ``hht audit verify``); a break that check recorded
is shown until a full walk finds the chain intact.  The page says *verified* only when
none of this found a problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from webapp.store.audit.key import AuditKeyError, key_for
from webapp.store.audit.state import last_check
from webapp.store.audit.verify import (
    HEAD,
    MISSING,
    Problem,
    Report,
    check_heads,
    check_job_events,
    check_structure,
    read_file_head,
    snapshot,
    walk,
)


@dataclass(frozen=True)
class ChainState:
    """The chain as one job's page shows it."""

    verified_up_to: int | None  # the newest event, when nothing is wrong
    broken: Problem | None  # the first problem, when something is
    more_problems: int  # beyond the first
    job_events: int  # the job's own events, checked now
    last_check_at: str | None
    full_check_at: str | None
    broken_found_at: str | None = None

    @property
    def verified(self) -> bool:
        return self.broken is None and self.verified_up_to is not None


def job_chain_state(db: Database, data_dir: Path, job_id: str) -> ChainState:
    """The chain's state for ``job_id``'s page (read-only: nothing is recorded)."""
    report = Report()
    try:
        key = key_for(db)
    except AuditKeyError as exc:
        return ChainState(None, Problem(HEAD, None, str(exc)), 0, 0, None, None)
    file_head = read_file_head(data_dir, report)
    with snapshot(db):
        recorded = last_check(db)
        check_structure(db, report)
        job_events = db.execute(
            "SELECT count(*) FROM job_events WHERE job_id = ?", [job_id]
        ).fetchone()[0]
        if not job_events:
            report.add(
                Problem(
                    MISSING,
                    None,
                    f"job {job_id} has no events in the log: a loaded job always has one, "
                    "so they were deleted",
                    job_id,
                )
            )
        problem = check_job_events(db, key, job_id)
        if problem is not None:
            report.add(problem)
        walk(db, key, report, recorded.since)
        check_heads(db, key, file_head, report)
    found_at = None
    if recorded.broken is not None:  # found by an earlier check, not yet cleared by a full one
        report.add(recorded.broken)
        found_at = recorded.broken_found_at
    broken = report.broken
    return ChainState(
        verified_up_to=report.last_seq if broken is None else None,
        broken=broken,
        more_problems=len(report.problems) - 1 + report.more_problems if broken else 0,
        job_events=job_events,
        last_check_at=recorded.checked_at,
        full_check_at=recorded.full_check_at,
        broken_found_at=found_at if _same(broken, recorded.broken) else None,
    )


def _same(one: Problem | None, other: Problem | None) -> bool:
    return one is not None and other is not None and (one.kind, one.seq) == (other.kind, other.seq)
