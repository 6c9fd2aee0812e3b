"""The supervisor's pages: job history, a job's timeline, users."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from sqlite_utils import Database

from webapp.auth.lockout import current_lockouts, locked_names, recent_failures
from webapp.auth.sessions import live_sessions
from webapp.auth.users import (
    INSTALLER,
    ROLES,
    SUPERVISOR,
    User,
    UserError,
    add_user,
    find_user,
    list_users,
    recent_changes,
    reset_secret,
    set_disabled,
    unlock,
)
from webapp.jobs import closeout, repo
from webapp.jobs.doorstep import KIND_LABELS
from webapp.jobs.states import ABORT_REASONS, JOB_STATUS_LABELS
from webapp.store.audit.job import job_chain_state
from webapp.store.events import events_for
from webapp.web.context import get_db, station
from webapp.web.lan import lan_address
from webapp.web.messages import (
    KIND_WORDS,
    SIGNATURE_WORDS,
    outcome_words,
    party_roles,
    route_words,
)
from webapp.web.params import int_arg
from webapp.web.security import current_user, role_required
from webapp.web.sessions import ended_for_user
from webapp.workpack.unload import waiting_by_supplier
from webapp.zigbee.capture import CaptureError

log = logging.getLogger(__name__)

bp = Blueprint("supervisor", __name__, url_prefix="/s")

CAPTURE_MIMETYPE = "application/vnd.tcpdump.pcap"
CAPTURE_SUFFIX = ".pcapng"
CAPTURE_TEMP_PREFIX = "hht-capture-"
CAPTURE_TEMP_NAME = "merged" + CAPTURE_SUFFIX  # fixed: never built from the job id
_UNSAFE_DOWNLOAD_CHARS = re.compile(r"[^A-Za-z0-9._-]")
MAX_DOWNLOAD_STEM = 80


#: History pages go this far (25 million jobs); further is a 400, never an SQLite overflow.
MAX_HISTORY_PAGE = 1_000_000


@bp.route("/")
@role_required(SUPERVISOR)
def history():  # type: ignore[no-untyped-def]
    flt = repo.HistoryFilter(
        date_from=request.args.get("from", "")[:10],
        date_to=request.args.get("to", "")[:10],
        status=request.args.get("status", "")
        if request.args.get("status") in JOB_STATUS_LABELS
        else "",
        installer_id=int_arg("installer"),
        search=request.args.get("q", "").strip()[:64],
        page=int_arg("page", 1, maximum=MAX_HISTORY_PAGE),
        kind=request.args.get("kind", "") if request.args.get("kind") in KIND_LABELS else "",
    )
    jobs, total, flt = _history_page(flt)
    installers = [u for u in list_users(get_db()) if u.role == INSTALLER]
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "supervisor/history.html",
        device_address=device_address(),
        jobs=jobs,
        total=total,
        flt=flt,
        pages=history_pages(total),
        installers=installers,
        statuses=JOB_STATUS_LABELS,
        visit_kinds=KIND_LABELS,
        args=args,
        waiting=waiting_by_supplier(get_db()),
    )


def history_pages(total: int) -> int:
    """How many history pages ``total`` jobs fill (one, even when there are none)."""
    return max(1, math.ceil(total / repo.HISTORY_PAGE_SIZE))


def _history_page(
    flt: repo.HistoryFilter,
) -> tuple[list[dict[str, Any]], int, repo.HistoryFilter]:
    """The jobs of the asked page, or of the last page when the asked one is past the end
    (a bookmark kept while jobs were filtered away): a page never says "Page 2 of 1"."""
    jobs, total = repo.job_history(get_db(), flt)
    last = history_pages(total)
    if flt.page > last:
        flt = dataclasses.replace(flt, page=last)
        jobs, total = repo.job_history(get_db(), flt)
    return jobs, total, flt


@bp.route("/jobs/<job_id>")
@role_required(SUPERVISOR)
def job(job_id: str):  # type: ignore[no-untyped-def]
    db = get_db()
    job = repo.get_job(db, job_id)
    if job is None:
        abort(404)
    snapshot = repo.job_snapshot(db, job_id)
    responses = repo.responses(db, job_id)
    by_command: dict[int, list[dict[str, Any]]] = {}
    for r in responses:
        by_command.setdefault(r["command_id"], []).append(r)
    supplier = db.execute("SELECT name FROM suppliers WHERE eui = ?", [job["supplier_eui"]])
    return render_template(
        "supervisor/job.html",
        job=job,
        snapshot=snapshot,
        service_requests=snapshot["service_requests"],
        responses_by_command=by_command,
        unmatched=[r for r in responses if r["command_id"] is None],
        parties=party_roles(db, job),
        supplier_name=(supplier.fetchone() or [""])[0],
        abort_reason=ABORT_REASONS.get(job["abort_reason"] or "", job["abort_reason"]),
        outcome_words=outcome_words,
        route_words=route_words,
        signature_words=SIGNATURE_WORDS,
        kind_words=KIND_WORDS,
        events=events_for(db, job_id),
        chain=job_chain_state(db, station().data_dir, job_id),
        capture=_capture_summary(job_id),
        installer=db.execute(
            "SELECT display_name FROM users WHERE id = ?", [job["assignee_id"]]
        ).fetchone(),
        visit_kinds=KIND_LABELS,
        site_visits=repo.site_visits(db, job),
        closeout_summary=closeout.summary(closeout.record_of(job))
        if closeout.is_closed_out(job)
        else "",
    )


@dataclass(frozen=True)
class CaptureSummary:
    """What the job page says about a job's radio capture."""

    connections: int  # one capture part per connection
    size: int  # octets, all parts together


def _capture_summary(job_id: str) -> CaptureSummary | None:
    """The job's radio capture in brief; None when it has none."""
    parts = station().runner.captures.parts(job_id)
    if not parts:
        return None
    size = 0
    for part in parts:
        with contextlib.suppress(OSError):  # a part removed meanwhile counts nothing
            size += part.stat().st_size
    return CaptureSummary(connections=len(parts), size=size)


def _download_name(job_id: str) -> str:
    """``<job id>.pcapng``, with anything a file name or header should not hold made ``_``."""
    return _UNSAFE_DOWNLOAD_CHARS.sub("_", job_id)[:MAX_DOWNLOAD_STEM] + CAPTURE_SUFFIX


@bp.route("/jobs/<job_id>/capture.pcapng")
@role_required(SUPERVISOR)
def job_capture(job_id: str):  # type: ignore[no-untyped-def]
    """The job's radio capture, its connections merged into one pcapng for Wireshark.

    The parts merge into a private temporary directory (never the captures folder),
    which is gone before the response is sent: the open file keeps what it holds."""
    if repo.get_job(get_db(), job_id) is None:
        abort(404, "There is no such job on this terminal.")
    with tempfile.TemporaryDirectory(prefix=CAPTURE_TEMP_PREFIX) as temporary:
        merged = Path(temporary) / CAPTURE_TEMP_NAME
        try:
            frames = station().runner.captures.merge(job_id, merged)
        except LookupError:
            abort(404, "This job has no radio capture: the terminal recorded no connection for it.")
        except (CaptureError, OSError) as exc:
            log.error("job %r: radio capture could not be merged: %s", job_id, exc)
            abort(500, "The radio capture could not be read from this terminal's storage.")
        stream = merged.open("rb")
    log.info("job %r: radio capture of %d frames downloaded", job_id, frames)
    try:
        response = send_file(
            stream,
            mimetype=CAPTURE_MIMETYPE,
            as_attachment=True,
            download_name=_download_name(job_id),
            conditional=False,
            etag=False,
        )
        response.content_length = os.fstat(stream.fileno()).st_size
    except BaseException:
        stream.close()
        raise
    response.headers["Cache-Control"] = "no-store"
    return response


#: What each action on the users page says it did, for the flash and the log.
USER_ACTIONS = {
    "add": "Added {username}.",
    "disable": "Disabled {username}: their sessions have ended.",
    "enable": "Enabled {username}.",
    "reset": "Reset the PIN/password of {username}: their sessions have ended.",
    "unlock": "Unlocked {username}.",
}


#: Why a supervisor may not disable the account he is logged in with.
SELF_DISABLE_REFUSED = (
    "You cannot disable your own account: you would lock yourself out. "
    "Another supervisor can disable it."
)


def _is_me(db: Database, username: str) -> bool:
    """Whether ``username`` names the logged-in user (however it is spelt)."""
    actor, target = current_user(), find_user(db, username)
    return actor is not None and target is not None and target["id"] == actor.id


def _user_action(db: Database, action: str, username: str) -> User:
    """Carry out one users-page action inside the writer's transaction."""
    form = request.form
    if action == "disable" and _is_me(db, username):
        raise UserError(SELF_DISABLE_REFUSED)
    me = current_user()
    actor = me.username if me is not None else "?"
    if action == "add":
        return add_user(
            db,
            username,
            form.get("role", INSTALLER),
            form.get("secret", ""),
            form.get("display_name", ""),
            actor=actor,
        )
    if action in ("disable", "enable"):
        return set_disabled(db, username, action == "disable", actor=actor)
    if action == "reset":
        return reset_secret(db, username, form.get("secret", ""), actor=actor)
    if action == "unlock":
        return unlock(db, username, actor=actor)
    raise UserError("Unknown action.")


@bp.route("/users", methods=["GET", "POST"])
@role_required(SUPERVISOR)
def users():  # type: ignore[no-untyped-def]
    """Add, disable, enable, reset and unlock users. Disabling a user or resetting their
    PIN/password ends all their sessions and disconnects their sockets at once."""
    error = None
    if request.method == "POST":
        action = request.form.get("action", "")
        username = request.form.get("username", "").strip()
        try:
            with station().store.write() as db:
                user = _user_action(db, action, username)
        except UserError as exc:
            error = str(exc)
        else:
            if action in ("disable", "reset"):
                ended_for_user(user.id, action)
            actor = current_user()
            log.info(
                "user admin: %s %r by supervisor %r",
                action,
                user.username,
                actor.username if actor else "?",
            )
            flash(USER_ACTIONS[action].format(username=user.username))
            return redirect(url_for("supervisor.users"))
    db = get_db()
    return render_template(
        "supervisor/users.html",
        users=list_users(db),
        me=current_user(),
        roles=ROLES,
        error=error,
        locked=locked_names(db, time.time()),
        changes=recent_changes(db),
    ), (400 if error else 200)


@bp.route("/qr.svg")
@role_required(SUPERVISOR)
def qr_code():  # type: ignore[no-untyped-def]
    """A QR code of the address phones use: the supervisor shows it to installers."""
    import io

    import segno
    from flask import Response

    buffer = io.BytesIO()
    segno.make(device_address(), error="m").save(buffer, kind="svg", scale=6, border=2)
    return Response(buffer.getvalue(), mimetype="image/svg+xml")


def device_address() -> str:
    """This terminal's address as phones reach it (what the supervisor page shows)."""
    host = request.host.split(":")[0]
    if host in ("127.0.0.1", "localhost", "::1"):
        host = lan_address()
    port = request.host.split(":")[1] if ":" in request.host else ""
    return f"{request.scheme}://{host}{':' + port if port else ''}/"


@bp.route("/no-wan", methods=["GET", "POST"])
@role_required(SUPERVISOR)
def no_wan():  # type: ignore[no-untyped-def]
    """The no-WAN register: this terminal's aborts and the imported central register."""
    from flask import Response

    from webapp.jobs import nowan

    error = None
    if request.method == "POST":
        upload = request.files.get("register")
        if upload is None or not upload.filename:
            error = "Choose the central register's CSV file."
        else:
            try:
                text = upload.read(8 * 1024 * 1024).decode("utf-8-sig")
                with station().store.write() as db:
                    count = nowan.import_csv(db, text)
            except UnicodeDecodeError:
                error = "The file is not UTF-8 text (CSV)."
            except nowan.RegisterError as exc:
                error = "Nothing was imported: " + "; ".join(exc.problems[:20])
            else:
                flash(f"Imported {count} sites into the no-WAN register.")
                return redirect(url_for("supervisor.no_wan"))
    if request.args.get("format") == "csv":
        return Response(
            nowan.export_csv(get_db()),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=no-wan-register.csv"},
        )
    return render_template(
        "supervisor/no_wan.html",
        entries=nowan.register(get_db()),
        error=error,
        source_words=NO_WAN_SOURCES,
    ), (400 if error else 200)


#: Where a no-WAN register entry came from, in words.
NO_WAN_SOURCES = {"hht": "This terminal", "central": "Central register"}


@bp.route("/device")
@role_required(SUPERVISOR)
def device():  # type: ignore[no-untyped-def]
    """This terminal: its radio, storage, clock and HTTPS; who is logged in, failed logins
    and lock-outs."""
    import shutil as _shutil
    from importlib.metadata import version

    from webapp.web.tls import tls_files

    st = station()
    usage = _shutil.disk_usage(st.data_dir)
    db_bytes = sum(p.stat().st_size for p in st.data_dir.glob("hht.sqlite*") if p.is_file())
    db, now = get_db(), time.time()
    return render_template(
        "supervisor/device.html",
        radio=st.driver.info.to_dict(),
        version=version("hht"),
        data_dir=st.data_dir,
        free_mib=usage.free / 2**20,
        total_mib=usage.total / 2**20,
        db_mib=db_bytes / 2**20,
        clock=st.runner.clock.estimate(),
        https=tls_files(st.data_dir).configured,
        address=device_address(),
        live_sessions=_stamped(live_sessions(db, now)),
        failures=_stamped(recent_failures(db, now)),
        lockouts=_stamped(current_lockouts(db, now)),
    )


#: Columns of the device page's tables that hold epoch seconds.
EPOCH_COLUMNS = ("created", "last_seen", "first_at", "last_at", "locked_until")


def _stamped(rows: list[dict]) -> list[dict]:
    """``rows`` with their epoch-second columns as ISO times (for the ``date_time`` filter)."""
    return [
        {
            **row,
            **{
                column: datetime.fromtimestamp(row[column], UTC).isoformat()
                for column in EPOCH_COLUMNS
                if row.get(column)
            },
        }
        for row in rows
    ]
