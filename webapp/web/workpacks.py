"""The supervisor's work-pack pages: trusted suppliers, loading packs, unloading answers."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from webapp.auth.users import SUPERVISOR
from webapp.identity import duis_signing_identity, terminal_identity
from webapp.web.context import get_db, station
from webapp.web.params import int_arg, int_form, path_id
from webapp.web.security import current_user, role_required
from webapp.workpack import unload
from webapp.workpack.archive import MAX_ARCHIVE_BYTES
from webapp.workpack.errors import WorkPackError
from webapp.workpack.load import OtherSupplierWaiting
from webapp.workpack.trust import normalise_eui

bp = Blueprint("workpacks", __name__, url_prefix="/s")

MAX_CERT_UPLOAD = 16 * 1024


def _actor() -> str:
    user = current_user()
    return f"supervisor:{user.username}" if user else "supervisor"


def _suppliers() -> list[dict]:
    waiting = {w["supplier_eui"]: w for w in unload.waiting_by_supplier(get_db())}
    rows = []
    for row in get_db().query("SELECT * FROM suppliers ORDER BY name"):
        rows.append({**row, "waiting": waiting.get(row["eui"])})
    return rows


@bp.route("/suppliers", methods=["GET", "POST"])
@role_required(SUPERVISOR)
def suppliers():  # type: ignore[no-untyped-def]
    problems: list[str] = []
    if request.method == "POST":
        upload = request.files.get("certificate")
        if upload is None or not upload.filename:
            problems = ["Choose the supplier's certificate (PEM file)."]
        else:
            try:
                row = station().add_supplier(
                    upload.read(MAX_CERT_UPLOAD + 1),
                    request.form.get("name", ""),
                    request.form.get("eui", "").strip() or None,
                )
            except WorkPackError as exc:
                problems = exc.problems
            else:
                flash(f"Work packs signed by {row['name']} ({row['eui']}) are now accepted.")
                return redirect(url_for("workpacks.suppliers"))
    return render_template("workpacks/suppliers.html", suppliers=_suppliers(), problems=problems), (
        400 if problems else 200
    )


@bp.route("/workpacks", methods=["GET", "POST"])
@role_required(SUPERVISOR)
def workpacks():  # type: ignore[no-untyped-def]
    problems: list[str] = []
    other_supplier: list[str] = []
    if request.method == "POST":
        upload = request.files.get("pack")
        if upload is None or not upload.filename:
            problems = ["Choose the work pack file (.zip)."]
        else:
            data = upload.read(MAX_ARCHIVE_BYTES + 1)
            try:
                result = station().load_pack(
                    data,
                    source=upload.filename[:200],
                    actor=_actor(),
                    accept_other_supplier=request.form.get("accept_other_supplier") == "yes",
                )
            except OtherSupplierWaiting as exc:
                other_supplier = exc.problems
            except WorkPackError as exc:
                problems = exc.problems
            else:
                flash(
                    f"Loaded work pack {result.pack_id}: {len(result.job_ids)} jobs, "
                    f"{result.commands} commands."
                )
                return redirect(url_for("workpacks.workpacks", loaded=result.work_pack_id))
    packs = list(
        get_db().query(
            "SELECT w.*, s.name AS supplier_name, (SELECT count(*) FROM jobs j "
            "WHERE j.work_pack_id = w.id) AS job_count FROM work_packs w "
            "LEFT JOIN suppliers s ON s.eui = w.supplier_eui ORDER BY w.id DESC LIMIT 50"
        )
    )
    loaded = int_arg("loaded")
    jobs = (
        list(
            get_db().query(
                "SELECT id, site, mpxn, appointment, status, "
                "(SELECT count(*) FROM device_sets d WHERE d.job_id = jobs.id) AS sets "
                "FROM jobs WHERE work_pack_id = ? ORDER BY id",
                [loaded],
            )
        )
        if loaded is not None
        else []
    )
    status = 400 if problems else (409 if other_supplier else 200)
    return render_template(
        "workpacks/workpacks.html",
        packs=packs,
        problems=problems,
        other_supplier=other_supplier,
        loaded_jobs=jobs,
        waiting=unload.waiting_by_supplier(get_db()),
    ), status


@bp.route("/unloads", methods=["GET", "POST"])
@role_required(SUPERVISOR)
def unloads():  # type: ignore[no-untyped-def]
    """Make an unload (the answer is its file: one tap downloads it) or confirm one."""
    problems: list[str] = []
    if request.method == "POST":
        st = station()
        try:
            if request.form.get("action") == "confirm":
                unload_id = int_form("unload_id", 0, minimum=0)
                with st.store.write() as db:
                    count = unload.confirm_received(db, unload_id, _actor())
                flash(f"Unload {unload_id} confirmed as received; {count} items stop waiting.")
                return redirect(url_for("workpacks.unloads"))
            made = unload.make_unload(
                st.store,
                normalise_eui(request.form.get("supplier", ""), "supplier EUI"),
                terminal_identity(st.data_dir),
                actor=_actor(),
                duis_signer=duis_signing_identity(st.data_dir),
            )
        except (WorkPackError, ValueError) as exc:
            problems = exc.problems if isinstance(exc, WorkPackError) else [str(exc)]
        else:
            flash(
                f"Unload {made.id} made and downloaded ({made.path.name}): {made.responses} "
                f"answers, {made.hub_statuses} hubs installed. Send it to the supplier, then "
                "confirm receipt here."
            )
            return _zip_download(made.path)
    suppliers = _suppliers()
    return render_template(
        "workpacks/unloads.html",
        suppliers=suppliers,
        supplier_names={s["eui"]: s["name"] for s in suppliers},
        unloads=unload.unloads(get_db()),
        problems=problems,
        terminal=terminal_identity(station().data_dir),
    ), (400 if problems else 200)


def _zip_download(path: Path):  # type: ignore[no-untyped-def]
    """An unload's zip as a download, never kept in a cache."""
    response = send_file(
        path, mimetype="application/zip", as_attachment=True, download_name=path.name
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/unloads/<unload_id>.zip")
@role_required(SUPERVISOR)
def unload_file(unload_id: str):  # type: ignore[no-untyped-def]
    number = path_id(unload_id, "unload id")
    row = get_db().execute("SELECT file_name FROM unloads WHERE id = ?", [number]).fetchone()
    if row is None or not row[0]:
        abort(404)
    path = station().data_dir / unload.UNLOADS_DIR / row[0]
    if not path.is_file():
        abort(404)
    return _zip_download(path)
