"""The supervisor's pages: job history, a job's timeline, users."""

from __future__ import annotations

import math

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from webapp.auth.users import (
    INSTALLER,
    ROLES,
    SUPERVISOR,
    UserError,
    add_user,
    list_users,
    reset_secret,
    set_disabled,
)
from webapp.jobs import repo
from webapp.jobs.states import JOB_STATUS_LABELS
from webapp.store.events import events_for, verify_chain
from webapp.web.context import get_db, station
from webapp.web.lan import lan_address
from webapp.web.security import role_required
from webapp.workpack.unload import waiting_by_supplier

bp = Blueprint("supervisor", __name__, url_prefix="/s")


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


@bp.route("/")
@role_required(SUPERVISOR)
def history():  # type: ignore[no-untyped-def]
    flt = repo.HistoryFilter(
        date_from=request.args.get("from", "")[:10],
        date_to=request.args.get("to", "")[:10],
        status=request.args.get("status", "")
        if request.args.get("status") in JOB_STATUS_LABELS
        else "",
        installer_id=_int_arg("installer"),
        search=request.args.get("q", "").strip()[:64],
        page=_int_arg("page") or 1,
    )
    jobs, total = repo.job_history(get_db(), flt)
    pages = max(1, math.ceil(total / repo.HISTORY_PAGE_SIZE))
    installers = [u for u in list_users(get_db()) if u.role == INSTALLER]
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "supervisor/history.html",
        device_address=device_address(),
        jobs=jobs,
        total=total,
        flt=flt,
        pages=pages,
        installers=installers,
        statuses=JOB_STATUS_LABELS,
        args=args,
        waiting=waiting_by_supplier(get_db()),
    )


@bp.route("/jobs/<job_id>")
@role_required(SUPERVISOR)
def job(job_id: str):  # type: ignore[no-untyped-def]
    db = get_db()
    job = repo.get_job(db, job_id)
    if job is None:
        abort(404)
    snapshot = repo.job_snapshot(db, job_id)
    responses = repo.responses(db, job_id)
    by_command = {}
    for r in responses:
        by_command.setdefault(r["command_id"], []).append(r)
    commands = repo.commands(db, job_id)
    return render_template(
        "supervisor/job.html",
        job=job,
        snapshot=snapshot,
        commands=commands,
        responses_by_command=by_command,
        unmatched=[r for r in responses if r["command_id"] is None],
        events=events_for(db, job_id),
        chain_break=verify_chain(db, job_id),
        installer=db.execute(
            "SELECT display_name FROM users WHERE id = ?", [job["assignee_id"]]
        ).fetchone(),
    )


@bp.route("/users", methods=["GET", "POST"])
@role_required(SUPERVISOR)
def users():  # type: ignore[no-untyped-def]
    error = None
    if request.method == "POST":
        action = request.form.get("action", "")
        username = request.form.get("username", "").strip()
        secret = request.form.get("secret", "")
        try:
            with station().store.write() as db:
                if action == "add":
                    add_user(
                        db,
                        username,
                        request.form.get("role", INSTALLER),
                        secret,
                        request.form.get("display_name", ""),
                    )
                    message = f"Added {username}."
                elif action == "disable":
                    set_disabled(db, username, True)
                    message = f"Disabled {username}."
                elif action == "enable":
                    set_disabled(db, username, False)
                    message = f"Enabled {username}."
                elif action == "reset":
                    reset_secret(db, username, secret)
                    message = f"Reset the PIN/password of {username}."
                else:
                    raise UserError("Unknown action.")
        except UserError as exc:
            error = str(exc)
        else:
            flash(message)
            return redirect(url_for("supervisor.users"))
    return render_template(
        "supervisor/users.html", users=list_users(get_db()), roles=ROLES, error=error
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
        "supervisor/no_wan.html", entries=nowan.register(get_db()), error=error
    ), (400 if error else 200)


@bp.route("/device")
@role_required(SUPERVISOR)
def device():  # type: ignore[no-untyped-def]
    """This terminal: its radio, storage, clock and HTTPS."""
    import shutil as _shutil
    from importlib.metadata import version

    from webapp.web.tls import tls_files

    st = station()
    usage = _shutil.disk_usage(st.data_dir)
    db_bytes = sum(p.stat().st_size for p in st.data_dir.glob("hht.sqlite*") if p.is_file())
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
    )
