"""The supervisors' pages: history, a job, devices, waiting to unload, packs; and the
HHT's own message view for a job's commands and responses."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from webapp.fleet.office import history, packs
from webapp.fleet.office import unload as central
from webapp.fleet.office.web.security import current_user, supervisor_required
from webapp.gbcs.signing import CertificateStore
from webapp.jobs.states import device_name
from webapp.web.messages import KIND_WORDS, SUPPLIER_PREFIX, route_words, view_context
from webapp.web.params import whole_number

bp = Blueprint("supervisor", __name__)
#: The HHT's message view (templates/messages/view.html) links here by these names.
messages = Blueprint("messages", __name__, url_prefix="/messages")

KEY_SEPARATOR = "~"
#: An HHT clock further than this from the fleet's is shown on the devices page.
CLOCK_TOLERANCE_SECONDS = 300


def _conn():  # type: ignore[no-untyped-def]
    return current_app.extensions["fleet"].pool.connection()


def job_key(hht_id: str, job_id: str) -> str:
    return f"{hht_id}{KEY_SEPARATOR}{job_id}"


def _split(key: str) -> tuple[str, str]:
    hht_id, sep, rest = key.partition(KEY_SEPARATOR)
    if not sep or not hht_id or not rest:
        abort(404)
    return hht_id, rest


@bp.route("/history")
@supervisor_required
def history_page():  # type: ignore[no-untyped-def]
    try:
        filters = history.Filters.from_args(request.args)
        with _conn() as conn:
            rows, cursor = history.page(conn, filters, request.args.get("after") or None)
            hhts = [dict(r) for r in conn.execute("SELECT id, name FROM hhts ORDER BY name")]
    except history.FilterError as exc:
        abort(400, str(exc))
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    return render_template(
        "fleet/history.html", rows=rows, cursor=cursor, args=args, hhts=hhts, job_key=job_key
    )


history_endpoint = history_page
bp.add_url_rule("/", "history", history_page)


@bp.route("/jobs/<path:job_id>")
@supervisor_required
def job(job_id: str):  # type: ignore[no-untyped-def]
    hht_id, local = _split(job_id)
    with _conn() as conn:
        row = conn.execute(
            "SELECT j.*, h.name AS hht_name FROM jobs j JOIN hhts h ON h.id = j.hht_id "
            "WHERE j.hht_id = %s AND j.id = %s",
            [hht_id, local],
        ).fetchone()
        if row is None:
            abort(404)
        commands = [
            dict(r)
            for r in conn.execute(
                "SELECT id, seq, use_case, device_role, recipient, counter, state, attempts, "
                "outcome, message_code FROM commands WHERE hht_id = %s AND job_id = %s "
                "ORDER BY seq",
                [hht_id, local],
            )
        ]
        responses = [
            dict(r)
            for r in conn.execute(
                "SELECT id, command_id, received_at, outcome, route, signature, duplicate_of "
                "FROM responses WHERE hht_id = %s AND job_id = %s ORDER BY id",
                [hht_id, local],
            )
        ]
        events = [
            dict(r)
            for r in conn.execute(
                "SELECT seq, at_text, kind, message, actor FROM events "
                "WHERE hht_id = %s AND job_id = %s ORDER BY seq",
                [hht_id, local],
            )
        ]
    by_command: dict[int, list[dict[str, Any]]] = {}
    for r in responses:
        by_command.setdefault(r["command_id"], []).append(r)
    return render_template(
        "fleet/job.html",
        job=dict(row),
        commands=commands,
        by_command=by_command,
        events=events,
        key=job_key(hht_id, local),
    )


def _age(at: datetime | None) -> str:
    if at is None:
        return "never"
    seconds = int((datetime.now(UTC) - at).total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


@bp.route("/devices")
@supervisor_required
def devices():  # type: ignore[no-untyped-def]
    with _conn() as conn:
        rows = [
            dict(r)
            for r in conn.execute(
                "SELECT id, name, revoked_at, last_sync_at, hht_head_seq, chain_seq, chain_state, "
                "chain_problem, chain_flagged_at, health, health_at, not_after FROM hhts "
                "ORDER BY name"
            )
        ]
    for row in rows:
        health = row["health"] if isinstance(row["health"], dict) else {}
        row["health"] = health
        row["lag_events"] = max(0, int(row["hht_head_seq"]) - int(row["chain_seq"]))
        row["since_sync"] = _age(row["last_sync_at"])
        row["clock_off_s"] = None
        clock = health.get("hht_clock")
        if clock and row["health_at"]:
            try:
                their = datetime.fromisoformat(str(clock).replace("Z", "+00:00"))
                if their.tzinfo is None:
                    their = their.replace(tzinfo=UTC)
                row["clock_off_s"] = int((their - row["health_at"]).total_seconds())
            except ValueError:
                row["clock_off_s"] = None
        row["clock_off"] = clock_words(row["clock_off_s"])
    return render_template("fleet/devices.html", rows=rows)


def clock_words(offset_s: int | None) -> str | None:
    """How far the HHT's clock is from the fleet's, in words; None within the tolerance."""
    if offset_s is None or abs(offset_s) <= CLOCK_TOLERANCE_SECONDS:
        return None
    seconds = abs(offset_s)
    hours, minutes = seconds // 3600, (seconds % 3600) // 60
    size = f"{hours} h {minutes} min" if hours else f"{minutes} min"
    return f"{size} {'ahead' if offset_s > 0 else 'behind'}"


@bp.route("/unloads")
@supervisor_required
def unloads():  # type: ignore[no-untyped-def]
    with _conn() as conn:
        waiting = central.waiting(conn)
        made = central.unloads(conn)
    now = datetime.now(UTC)
    for entry in waiting:
        try:
            oldest = datetime.fromisoformat(str(entry["oldest"]).replace("Z", "+00:00"))
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=UTC)
            entry["age"] = _age(oldest) if oldest <= now else "0 s"
        except ValueError:
            entry["age"] = "?"
    return render_template("fleet/unloads.html", waiting=waiting, made=made)


@bp.post("/unloads")
@supervisor_required
def make_unload():  # type: ignore[no-untyped-def]
    supplier = request.form.get("supplier", "")[:32]
    user = current_user()
    assert user is not None
    try:
        with _conn() as conn:
            made = central.make(
                conn, supplier, user.username, current_app.extensions["fleet"].signer
            )
    except central.CentralUnloadError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Central unload {made.id}: {made.responses} answers, {made.hub_statuses} hubs.")
    return redirect(url_for("supervisor.unloads"))


@bp.route("/unloads/<unload_id>/file")
@supervisor_required
def unload_file(unload_id: str):  # type: ignore[no-untyped-def]
    number = whole_number(unload_id, "unload id")
    with _conn() as conn:
        row = conn.execute(
            "SELECT file_name, data FROM central_unloads WHERE id = %s", [number]
        ).fetchone()
    if row is None or row["data"] is None:
        abort(404)
    return Response(
        bytes(row["data"]),
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename={row['file_name']}"},
    )


@bp.post("/unloads/<unload_id>/confirm")
@supervisor_required
def confirm_unload(unload_id: str):  # type: ignore[no-untyped-def]
    user = current_user()
    assert user is not None
    try:
        with _conn() as conn:
            central.confirm_received(conn, whole_number(unload_id, "unload id"), user.username)
    except central.CentralUnloadError as exc:
        flash(str(exc), "error")
    return redirect(url_for("supervisor.unloads"))


@bp.route("/packs", methods=["GET", "POST"])
@supervisor_required
def packs_page():  # type: ignore[no-untyped-def]
    user = current_user()
    assert user is not None
    if request.method == "POST":
        upload = request.files.get("pack")
        target = request.form.get("target", "")
        who = request.form.get("who", "").strip()[:64]
        try:
            if upload is None:
                raise packs.PackError("choose a pack file")
            with _conn() as conn:
                packs.publish(
                    conn,
                    upload.read(),
                    actor=user.username,
                    hht=who if target == "hht" else None,
                    installer=who if target == "installer" else None,
                )
        except packs.PackError as exc:
            flash(str(exc), "error")
        return redirect(url_for("supervisor.packs_page"))
    with _conn() as conn:
        rows = packs.deliveries(conn)
        installers = packs.installers(conn)
    return render_template("fleet/packs.html", rows=rows, installers=installers)


# ------------------------------------------------------------ the HHT's message view
def _message(table: str, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The command or response ``key`` names, and what its view needs of its job: the job's
    key and site, the supplier's certificate, and who each id is (the devices the job's
    commands went to, by role, and every supplier the fleet knows)."""
    hht_id, number = _split(key)
    row_id = whole_number(number, f"{table[:-1]} id")
    with _conn() as conn:
        row = conn.execute(
            f"SELECT * FROM {table} WHERE hht_id = %s AND id = %s", [hht_id, row_id]
        ).fetchone()
        if row is None or row["job_id"] is None:
            abort(404)
        job = conn.execute(
            "SELECT j.site, j.supplier_eui, s.certificate_pem FROM jobs j "
            "LEFT JOIN suppliers s ON s.eui = j.supplier_eui "
            "WHERE j.hht_id = %s AND j.id = %s",
            [hht_id, row["job_id"]],
        ).fetchone()
        devices = conn.execute(
            "SELECT DISTINCT device_role, recipient FROM commands "
            "WHERE hht_id = %s AND job_id = %s AND recipient IS NOT NULL",
            [hht_id, row["job_id"]],
        ).fetchall()
        suppliers = conn.execute("SELECT eui, name FROM suppliers").fetchall()
    certs = CertificateStore()
    if job and job["certificate_pem"]:
        from cryptography import x509

        with contextlib.suppress(ValueError):
            certs.add(
                job["supplier_eui"],
                x509.load_pem_x509_certificate(job["certificate_pem"].encode()),
            )
    parties: dict[str, str] = {}
    for device in sorted(devices, key=lambda d: (str(d["device_role"]), str(d["recipient"]))):
        if device["device_role"]:
            parties.setdefault(str(device["recipient"]).upper(), device_name(device["device_role"]))
    for supplier in suppliers:
        parties.setdefault(
            str(supplier["eui"]).upper(), SUPPLIER_PREFIX + (supplier["name"] or supplier["eui"])
        )
    return dict(row), {
        "id": job_key(hht_id, row["job_id"]),
        "site": job["site"] if job else "",
        "certs": certs,
        "parties": parties,
    }


def _render(raw: bytes, title: str, job: dict[str, Any], **extra: Any) -> str:
    """The HHT's message view, with the context the HHT's own view builds."""
    return render_template(
        "messages/view.html",
        **view_context(
            raw,
            title,
            {"id": job["id"], "site": job["site"]},
            job["certs"],
            job["parties"],
            **extra,
        ),
    )


@messages.route("/command/<command_id>")
@supervisor_required
def command(command_id: str):  # type: ignore[no-untyped-def]
    row, job = _message("commands", command_id)
    hht_id = command_id.partition(KEY_SEPARATOR)[0]
    with _conn() as conn:
        answers = [
            {**dict(r), "id": job_key(hht_id, str(r["id"]))}
            for r in conn.execute(
                "SELECT id, route, received_at, outcome FROM responses "
                "WHERE hht_id = %s AND command_id = %s ORDER BY id",
                [hht_id, row["id"]],
            )
        ]
        request_title = conn.execute(
            "SELECT title FROM service_requests WHERE hht_id = %s AND id = %s",
            [hht_id, row["service_request_id"]],
        ).fetchone()
    return _render(
        bytes(row["raw"]),
        f"Command {row['seq']}: {(request_title or {}).get('title') or row['use_case']}",
        job,
        code=row["use_case"],
        responses=answers,
    )


@messages.route("/response/<response_id>")
@supervisor_required
def response(response_id: str):  # type: ignore[no-untyped-def]
    row, job = _message("responses", response_id)
    hht_id = response_id.partition(KEY_SEPARATOR)[0]
    kind = row["kind"] or "response"
    return _render(
        bytes(row["raw"]),
        KIND_WORDS.get(kind, kind.capitalize()),
        job,
        code=f"{kind} via {(row['route'] or '?').upper()}",
        route=route_words(row["route"]),
        command_id=job_key(hht_id, str(row["command_id"])) if row["command_id"] else None,
    )


def health_text(health: dict[str, Any]) -> str:
    return json.dumps(health, sort_keys=True)
