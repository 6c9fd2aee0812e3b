"""Reading and writing jobs, service requests, commands and responses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from webapp.jobs import closeout
from webapp.jobs.states import (
    ABORT_REASONS,
    IN_FLIGHT_STATES,
    JOB_STATUS_LABELS,
    OPEN_JOB_STATUSES,
    SERVICE_REQUEST_STATE_LABELS,
    CommandState,
    JobStatus,
    PauseReason,
    command_label,
    device_name,
    service_request_state,
    sql_in,
)
from webapp.store.clock import utc_now
from webapp.store.events import TimeQuality, append_event, events_for
from webapp.store.sql import get_row, update_row

HISTORY_PAGE_SIZE = 25


class JobError(ValueError):
    """A request about a job that cannot be carried out, with the reason."""


def get_job(db: Database, job_id: str) -> dict[str, Any] | None:
    rows = list(db["jobs"].rows_where("id = ?", [job_id]))
    if not rows:
        return None
    job = without_secrets(rows[0])
    job["device_set"] = json.loads(job["device_set"] or "{}")
    job["device_sets"] = device_sets(db, job_id)
    job["candidate_hubs"] = (
        [job["expected_hub_id"]]
        if job["device_set_id"]
        else [s["hub_id"] for s in job["device_sets"]] or [job["expected_hub_id"]]
    )
    job["status_label"] = JOB_STATUS_LABELS.get(JobStatus(job["status"]), job["status"])
    return job


def without_secrets(row: dict[str, Any]) -> dict[str, Any]:
    """A job row without the visit's installer PIN (only :func:`visit_pin` reads it)."""
    row["has_visit_pin"] = bool(row.pop("visit_pin", None))
    return row


def visit_pin(db: Database, job_id: str) -> str | None:
    """The installer PIN the work pack carries for this visit's meter menu: a secret for
    the assigned installer's eyes on the doorstep, never logged or sent anywhere else."""
    row = db.execute("SELECT visit_pin FROM jobs WHERE id = ?", [job_id]).fetchone()
    return row[0] if row and row[0] else None


def require_job(db: Database, job_id: str) -> dict[str, Any]:
    job = get_job(db, job_id)
    if job is None:
        raise JobError(f"No job {job_id}.")
    return job


def set_job_status(
    db: Database,
    job_id: str,
    status: JobStatus,
    message: str = "",
    actor: str = "hht",
    *,
    reason: PauseReason | None = None,
    time_quality: TimeQuality | None = None,
    **fields: Any,
) -> None:
    """Set the job's status (in the caller's transaction) and log it.

    ``reason`` says why a paused job stopped; any other status clears it."""
    code = reason.value if reason is not None and status is JobStatus.PAUSED else None
    update = {"status": status.value, "status_message": message, "pause_reason": code, **fields}
    update_row(db, "jobs", job_id, update)
    data = {"status": status.value, **({"reason": code} if code else {})}
    append_event(
        db,
        job_id,
        "status",
        message or f"Job {status.value}",
        data,
        actor,
        time_quality=time_quality,
    )


INTERRUPTED_MESSAGE = (
    "The terminal restarted during this job. Reconnect to the hub and resume: "
    "nothing is sent twice."
)


def pause_interrupted_jobs(db: Database) -> list[str]:
    """Jobs left running by a restart (power cut, crash) become paused, resumable."""
    rows = db.execute("SELECT id FROM jobs WHERE status = ?", [JobStatus.RUNNING.value])
    ids = [r[0] for r in rows.fetchall()]
    for job_id in ids:
        set_job_status(
            db, job_id, JobStatus.PAUSED, INTERRUPTED_MESSAGE, reason=PauseReason.RESTARTED
        )
    return ids


def paused_for(db: Database, reason: PauseReason) -> list[dict[str, Any]]:
    """Jobs paused for ``reason``, oldest first."""
    return list(
        db["jobs"].rows_where(
            "status = ? AND pause_reason = ?",
            [JobStatus.PAUSED.value, reason.value],
            order_by="id",
        )
    )


def service_requests(db: Database, job_id: str) -> list[dict[str, Any]]:
    return list(db["service_requests"].rows_where("job_id = ?", [job_id], order_by="seq"))


def device_sets(db: Database, job_id: str) -> list[dict[str, Any]]:
    rows = list(db["device_sets"].rows_where("job_id = ?", [job_id], order_by="seq"))
    for row in rows:
        row["devices"] = json.loads(row["devices"] or "{}")
    return rows


def active_device_set_id(db: Database, job_id: str) -> int | None:
    """The chosen set, or before the choice the first candidate (what pages preview)."""
    row = db.execute(
        "SELECT coalesce(j.device_set_id, (SELECT id FROM device_sets d WHERE d.job_id = j.id "
        "ORDER BY d.seq LIMIT 1)) FROM jobs j WHERE j.id = ?",
        [job_id],
    ).fetchone()
    return row[0] if row else None


def commands(db: Database, job_id: str) -> list[dict[str, Any]]:
    """The commands of the job's active device set, in order."""
    set_id = active_device_set_id(db, job_id)
    if set_id is None:
        return list(db["commands"].rows_where("job_id = ?", [job_id], order_by="seq"))
    return list(
        db["commands"].rows_where(
            "job_id = ? AND device_set_id = ?", [job_id, set_id], order_by="seq"
        )
    )


def choose_device_set(
    db: Database,
    job_id: str,
    device_set: dict[str, Any],
    actor: str,
    *,
    time_quality: TimeQuality | None = None,
) -> None:
    """Fix the job to ``device_set`` (in the caller's transaction): from now on only its
    commands can be sent."""
    update_row(
        db,
        "jobs",
        job_id,
        {
            "device_set_id": device_set["id"],
            "expected_hub_id": device_set["hub_id"],
            "device_set": json.dumps(device_set["devices"], sort_keys=True),
        },
    )
    append_event(
        db,
        job_id,
        "device-set",
        f"Device set {device_set['label']} chosen: hub {device_set['hub_id']}",
        {"device_set_id": device_set["id"]},
        actor,
        time_quality=time_quality,
    )


def command_view(cmd: dict[str, Any], job_status: str | None = None) -> dict[str, Any]:
    """A command as pages and sockets see it (no raw bytes), its state in words consistent
    with ``job_status`` when given."""
    return {
        "id": cmd["id"],
        "seq": cmd["seq"],
        "service_request_id": cmd["service_request_id"],
        "use_case": cmd["use_case"],
        "message_code": f"0x{cmd['message_code']:04X}",
        "counter": cmd["counter"],
        "recipient": cmd["recipient"],
        "device_role": cmd["device_role"],
        "device_name": device_name(cmd["device_role"]),
        "state": cmd["state"],
        "state_label": command_label(cmd["state"], job_status),
        "attempts": cmd["attempts"],
        "outcome": cmd["outcome"],
        "outcome_reason": cmd["outcome_reason"],
        "last_error": cmd["last_error"],
        "sent_at": cmd["sent_at"],
        "answered_at": cmd["answered_at"],
    }


def service_request_view(db: Database, service_request_id: int) -> dict[str, Any]:
    """A service request's state in words, from its commands' and its job's: what a page
    needs to redraw the request when one of its commands changes."""
    row = db.execute(
        "SELECT j.status FROM service_requests sr JOIN jobs j ON j.id = sr.job_id WHERE sr.id = ?",
        [service_request_id],
    ).fetchone()
    states = [
        r[0]
        for r in db.execute(
            "SELECT state FROM commands WHERE service_request_id = ?", [service_request_id]
        )
    ]
    state = service_request_state(states, row[0] if row else None)
    return {
        "id": service_request_id,
        "state": state.value,
        "state_label": SERVICE_REQUEST_STATE_LABELS[state],
    }


def responses(db: Database, job_id: str) -> list[dict[str, Any]]:
    return list(db["responses"].rows_where("job_id = ?", [job_id], order_by="id"))


def update_command(db: Database, command_id: int, **fields: Any) -> dict[str, Any]:
    fields["updated_at"] = utc_now()
    update_row(db, "commands", command_id, fields)
    return get_command(db, command_id)


def get_command(db: Database, command_id: int) -> dict[str, Any]:
    row = get_row(db, "commands", command_id)
    if row is None:
        raise JobError(f"No command {command_id}.")
    return row


@dataclass(frozen=True)
class HistoryFilter:
    date_from: str = ""
    date_to: str = ""
    status: str = ""
    installer_id: int | None = None
    search: str = ""
    page: int = 1
    kind: str = ""  # install | maintenance | "" for both


def job_history(db: Database, flt: HistoryFilter) -> tuple[list[dict[str, Any]], int]:
    """One page of jobs matching the filter, newest appointment first, and the total."""
    where: list[str] = []
    params: list[Any] = []
    if flt.date_from:
        where.append("j.appointment >= ?")
        params.append(flt.date_from)
    if flt.date_to:
        where.append("j.appointment <= ?")
        params.append(flt.date_to)
    if flt.status:
        where.append("j.status = ?")
        params.append(flt.status)
    if flt.installer_id:
        where.append("j.assignee_id = ?")
        params.append(flt.installer_id)
    if flt.kind:
        where.append("j.kind = ?")
        params.append(flt.kind)
    if flt.search.isdigit():
        # an MPxN, or its start: a prefix match that can use the index
        where.append("j.mpxn GLOB ?")
        params.append(f"{flt.search}*")
    elif flt.search:
        where.append("(j.site LIKE ? OR j.address LIKE ? OR j.id LIKE ?)")
        like = f"%{flt.search}%"
        params.extend([like, like, like])
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    total = db.execute(f"SELECT count(*) FROM jobs j {clause}", params).fetchone()[0]
    page = max(1, flt.page)
    rows = db.query(
        f"""SELECT j.*, u.display_name AS installer_name FROM jobs j
            LEFT JOIN users u ON u.id = j.assignee_id {clause}
            ORDER BY j.appointment DESC, j.id DESC LIMIT ? OFFSET ?""",
        [*params, HISTORY_PAGE_SIZE, (page - 1) * HISTORY_PAGE_SIZE],
    )
    jobs = []
    for row in rows:
        row = without_secrets(row)
        row["status_label"] = JOB_STATUS_LABELS.get(JobStatus(row["status"]), row["status"])
        jobs.append(row)
    return jobs, total


def site_visits(db: Database, job: dict[str, Any]) -> list[dict[str, Any]]:
    """The other jobs at the same MPxN (the site's earlier and later visits), newest first."""
    rows = db.execute(
        "SELECT id, kind, appointment, status, site FROM jobs WHERE mpxn = ? AND id != ?"
        " ORDER BY appointment DESC, id DESC",
        [job["mpxn"], job["id"]],
    ).fetchall()
    return [
        {
            "id": r[0],
            "kind": r[1],
            "appointment": r[2],
            "status": r[3],
            "status_label": JOB_STATUS_LABELS.get(JobStatus(r[3]), r[3]),
            "site": r[4],
        }
        for r in rows
    ]


def jobs_for_installer(db: Database, user_id: int, day: str) -> list[dict[str, Any]]:
    """Jobs assigned to an installer for a day, plus unfinished ones from earlier."""
    open_in, open_statuses = sql_in(OPEN_JOB_STATUSES)
    rows = db.query(
        f"""SELECT * FROM jobs WHERE assignee_id = ? AND
           (appointment = ? OR (appointment < ? AND status IN {open_in}))
           ORDER BY appointment, id""",
        [user_id, day, day, *open_statuses],
    )
    out = []
    for row in rows:
        row = without_secrets(row)
        row["status_label"] = JOB_STATUS_LABELS.get(JobStatus(row["status"]), row["status"])
        out.append(row)
    return out


def job_snapshot(db: Database, job_id: str, live: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything a page needs to draw a job from scratch (sent on every (re)connect)."""
    job = require_job(db, job_id)
    cmds = [command_view(c, job["status"]) for c in commands(db, job_id)]
    by_sr: dict[int, list[dict[str, Any]]] = {}
    for c in cmds:
        by_sr.setdefault(c["service_request_id"], []).append(c)
    srs = []
    for sr in service_requests(db, job_id):
        sr_cmds = by_sr.get(sr["id"], [])
        sr_state = service_request_state((c["state"] for c in sr_cmds), job["status"])
        srs.append(
            {
                **sr,
                "commands": sr_cmds,
                "state": sr_state.value,
                "state_label": SERVICE_REQUEST_STATE_LABELS[sr_state],
            }
        )
    done = sum(
        1
        for c in cmds
        if c["state"] != CommandState.QUEUED.value and c["state"] not in IN_FLIGHT_STATES
    )
    return {
        "job": (
            {
                k: job[k]
                for k in (
                    "id",
                    "kind",
                    "site",
                    "address",
                    "mpxn",
                    "supplier_eui",
                    "appointment",
                    "status",
                    "status_label",
                    "status_message",
                    "expected_hub_id",
                    "device_set",
                    "connected_hub_id",
                    "device_set_id",
                    "device_sets",
                    "candidate_hubs",
                    "started_at",
                    "finished_at",
                    "abort_reason",
                    "abort_note",
                )
            }
            | {
                "abort_reason_label": ABORT_REASONS.get(job["abort_reason"] or "", ""),
                "closed_out": closeout.is_closed_out(job),
                "closeout_summary": closeout.summary(closeout.record_of(job))
                if closeout.is_closed_out(job)
                else "",
            }
        ),
        "service_requests": srs,
        "progress": {"done": done, "total": len(cmds)},
        "events": [
            {"id": e["id"], "at": e["at"], "kind": e["kind"], "message": e["message"]}
            for e in events_for(db, job_id, limit=50)
        ],
        "live": live or {},
    }
