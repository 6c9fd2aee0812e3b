"""The installer's pages: today's jobs, a job, finding the hub, running the job."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template

from webapp.auth.users import INSTALLER
from webapp.jobs import repo
from webapp.jobs.states import ABORT_REASONS
from webapp.web.context import get_db, hht
from webapp.web.security import current_user, role_required

bp = Blueprint("installer", __name__, url_prefix="/i")


def own_job(job_id: str) -> dict:
    job = repo.get_job(get_db(), job_id)
    user = current_user()
    if job is None or user is None or job["assignee_id"] != user.id:
        abort(404)
    return job


@bp.route("/")
@role_required(INSTALLER)
def jobs():  # type: ignore[no-untyped-def]
    user = current_user()
    today = date.today().isoformat()
    rows = repo.jobs_for_installer(get_db(), user.id, today)
    return render_template("installer/jobs.html", jobs=rows, today=today)


@bp.route("/jobs/<job_id>")
@role_required(INSTALLER)
def job(job_id: str):  # type: ignore[no-untyped-def]
    from webapp.jobs.nowan import warning_for

    job = own_job(job_id)
    snapshot = repo.job_snapshot(get_db(), job_id)
    from webapp.duis import CHF_LOCATIONS, PREMISE_TYPES

    return render_template(
        "installer/job.html",
        job=job,
        snapshot=snapshot,
        no_wan=warning_for(get_db(), job["mpxn"]),
        chf_locations=CHF_LOCATIONS,
        premise_types=PREMISE_TYPES,
    )


@bp.route("/jobs/<job_id>/hub")
@role_required(INSTALLER)
def hub(job_id: str):  # type: ignore[no-untyped-def]
    job = own_job(job_id)
    return render_template(
        "installer/hub.html",
        job=job,
        radio=hht().station.driver.info,
        simulated=hht().radio == "sim",
    )


@bp.route("/jobs/<job_id>/run")
@role_required(INSTALLER)
def run(job_id: str):  # type: ignore[no-untyped-def]
    job = own_job(job_id)
    return render_template(
        "installer/run.html", job=job, abort_reasons=ABORT_REASONS, simulated=hht().radio == "sim"
    )


@bp.route("/jobs/<job_id>/survey", methods=["GET", "POST"])
@role_required(INSTALLER)
def survey(job_id: str):  # type: ignore[no-untyped-def]
    """The site survey: a signed file of what is really on site, for the back office."""
    from flask import Response, request

    from webapp.identity import terminal_identity
    from webapp.workpack.survey import sign_survey, survey_for

    job = own_job(job_id)
    problems: list[str] = []
    if request.method == "POST":
        hub_id = _eui_field("hub", problems)
        meters = {role: _eui_field(role, problems) for role in ("esme", "gsme")}
        meters = {role: eui for role, eui in meters.items() if eui}
        if not problems:
            st = hht().station
            terminal = terminal_identity(st.data_dir)
            user = current_user()
            doc = survey_for(get_db(), job, user.username, terminal, hub_id, meters)
            data = sign_survey(doc, terminal)
            st.runner.note(
                job_id,
                "survey",
                f"Site survey downloaded: hub {doc['hub_found'] or 'not found'}, "
                f"meters {', '.join(meters.values()) or 'none given'}",
                f"installer:{user.username}",
            )
            return Response(
                data,
                mimetype="application/json",
                headers={"Content-Disposition": f"attachment; filename=survey-{job_id}.json"},
            )
    return render_template("installer/survey.html", job=job, problems=problems), (
        400 if problems else 200
    )


def _eui_field(name: str, problems: list[str]) -> str | None:
    from flask import request

    from webapp.gbcs.eui import eui_text

    given = request.form.get(name, "").strip()
    if not given:
        return None
    text = eui_text(given)
    if text is None:
        problems.append(f"The {name.upper()} id must be 16 digits 0-9 and A-F (from its label).")
    return text


@bp.route("/jobs/<job_id>/hub-install", methods=["POST"])
@role_required(INSTALLER)
def hub_install(job_id: str):  # type: ignore[no-untyped-def]
    """What the installer records about the hub's installation (DUIS 8.14.1 / 8.14.2)."""
    import json

    from flask import flash, redirect, request, url_for

    from webapp.duis import CHF_LOCATIONS, PREMISE_TYPES

    job = own_job(job_id)
    form = request.form
    record = json.loads(job["hub_install"] or "{}")
    location = form.get("chf_location", "")
    premise = form.get("premise_type", "")
    sm_wan = form.get("sm_wan") != "no"
    problems = []
    if location not in CHF_LOCATIONS:
        problems.append("Choose where the hub is.")
    if not sm_wan and premise not in PREMISE_TYPES:
        problems.append("With no SM WAN, choose the type of premises.")
    if problems:
        flash(" ".join(problems), "error")
        return redirect(url_for("installer.job", job_id=job_id))
    record.update(
        {
            "chf_location": location,
            "aerial_install": form.get("aerial_install") == "yes",
            "sm_wan": sm_wan,
        }
    )
    if not sm_wan:
        record["premise_type"] = premise
        for check in ("metal_obstruction", "connectivity_obstruction", "shared_obstruction"):
            record[check] = form.get(check) == "yes"
    with hht().station.store.write() as db:
        db["jobs"].update(job_id, {"hub_install": json.dumps(record, sort_keys=True)})
    user = current_user()
    hht().station.runner.note(
        job_id,
        "hub-install",
        f"Hub installation recorded: {location}, "
        f"{'with' if sm_wan else 'no'} SM WAN" + (", aerial" if record["aerial_install"] else ""),
        f"installer:{user.username}",
    )
    flash("Hub installation recorded.")
    return redirect(url_for("installer.job", job_id=job_id))


@bp.route("/workpack", methods=["GET", "POST"])
@role_required(INSTALLER)
def workpack():  # type: ignore[no-untyped-def]
    """Upload from the phone the work pack the office sent back for a site survey."""
    from flask import flash, redirect, request, url_for

    from webapp.workpack.archive import MAX_ARCHIVE_BYTES
    from webapp.workpack.errors import WorkPackError

    problems: list[str] = []
    if request.method == "POST":
        upload = request.files.get("pack")
        if upload is None or not upload.filename:
            problems = ["Choose the work pack file the office sent (.zip)."]
        else:
            user = current_user()
            try:
                result = hht().station.load_pack(
                    upload.read(MAX_ARCHIVE_BYTES + 1),
                    source=f"phone:{upload.filename[:150]}",
                    actor=f"installer:{user.username}",
                    accept_other_supplier=True,
                    default_assignee=user.username,
                )
            except WorkPackError as exc:
                problems = exc.problems
            else:
                flash(f"Loaded {len(result.job_ids)} job(s) from work pack {result.pack_id}.")
                return redirect(url_for("installer.jobs"))
    return render_template("installer/workpack.html", problems=problems), (400 if problems else 200)
