"""The installer's pages: today's jobs, a job, finding the hub, running the job."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template

from webapp.auth.users import INSTALLER
from webapp.jobs import doorstep, repo
from webapp.jobs.states import ABORT_REASONS, FINISHED_JOB_STATUSES, JobStatus
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
    return render_template(
        "installer/job.html",
        job=job,
        snapshot=snapshot,
        step=next_step(job),
        no_wan=warning_for(get_db(), job["mpxn"]),
        kind_label=doorstep.KIND_LABELS.get(job["kind"], job["kind"]),
    )


@bp.route("/jobs/<job_id>/hub")
@role_required(INSTALLER)
def hub(job_id: str):  # type: ignore[no-untyped-def]
    job = own_job(job_id)
    maintenance = doorstep.is_maintenance(job)
    return render_template(
        "installer/hub.html",
        job=job,
        radio=hht().station.driver.info,
        simulated=hht().radio == "sim",
        connected_hub=_connected_hub(job_id),
        maintenance=maintenance,
        # the visit's PIN: for the assigned installer's eyes only, on this page only
        menu_steps=doorstep.meter_menu_steps(repo.visit_pin(get_db(), job_id))
        if maintenance
        else [],
        no_wan_minutes=doorstep.NO_WAN_WAIT_MINUTES,
        power_cycle_consequence=doorstep.POWER_CYCLE_CONSEQUENCE,
    )


@bp.route("/jobs/<job_id>/run")
@role_required(INSTALLER)
def run(job_id: str):  # type: ignore[no-untyped-def]
    job = own_job(job_id)
    return render_template(
        "installer/run.html",
        job=job,
        abort_reasons=ABORT_REASONS,
        simulated=hht().radio == "sim",
    )


@bp.route("/jobs/<job_id>/finish", methods=["GET", "POST"])
@role_required(INSTALLER)
def finish(job_id: str):  # type: ignore[no-untyped-def]
    """The close-out: what the installer saw of the hub, or that it was not installed."""
    from flask import redirect, request, url_for

    from webapp.duis import CHF_LOCATIONS, PREMISE_TYPES
    from webapp.jobs import closeout
    from webapp.store.clock import utc_now

    job = own_job(job_id)
    if job["status"] not in FINISHED_JOB_STATUSES:
        return redirect(url_for("installer.run", job_id=job_id))
    maintenance = doorstep.is_maintenance(job)
    problems: list[str] = []
    form: dict[str, str] = {}
    locked = job.get("hub_status_unload_id") is not None
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        if locked:
            problems = ["The office already has this hub's record; it cannot change now."]
        elif maintenance:
            result = closeout.parse_maintenance_form(form)
            problems = result.problems
        else:
            result = closeout.parse_form(form, closeout.record_of(job))
            problems = result.problems
        if not problems:
            user = current_user()
            stored = closeout.stamp(result.record, by=user.username, at=utc_now())
            with hht().station.store.write() as db:
                db["jobs"].update(job_id, {"hub_install": stored})
            hht().station.runner.note(
                job_id,
                "hub-install",
                closeout.summary(result.record),
                f"installer:{user.username}",
            )
            return redirect(url_for("installer.summary", job_id=job_id))
    elif closeout.is_closed_out(job):
        form = _form_of(closeout.record_of(job))
    elif maintenance:
        srs = repo.service_requests(get_db(), job_id)
        replaced = closeout.replaced_by_plan([(sr["use_case"], sr["title"]) for sr in srs])
        form = {f"replaced_{role}": "yes" for role in replaced}
    return render_template(
        "installer/finish.html",
        maintenance=maintenance,
        replaceable=closeout.REPLACEABLE,
        job=job,
        form=form,
        problems=problems,
        locked=locked,
        chf_locations=CHF_LOCATIONS,
        premise_types=PREMISE_TYPES,
        reasons=closeout.NOT_INSTALLED_REASONS,
        obstructions=closeout.OBSTRUCTION_CHECKS,
    ), (400 if problems else 200)


@bp.route("/jobs/<job_id>/summary")
@role_required(INSTALLER)
def summary(job_id: str):  # type: ignore[no-untyped-def]
    """The job's end on the doorstep: what was done, what was recorded, the next job."""
    from flask import redirect, url_for

    from webapp.jobs import closeout

    job = own_job(job_id)
    if job["status"] not in FINISHED_JOB_STATUSES:
        return redirect(url_for("installer.run", job_id=job_id))
    if not closeout.is_closed_out(job):
        return redirect(url_for("installer.finish", job_id=job_id))
    snapshot = repo.job_snapshot(get_db(), job_id)
    commands = [c for sr in snapshot["service_requests"] for c in sr["commands"]]
    counts: dict[str, int] = {}
    for c in commands:
        counts[c["state_label"]] = counts.get(c["state_label"], 0) + 1
    return render_template(
        "installer/summary.html",
        job=job,
        snapshot=snapshot,
        counts=counts,
        total=len(commands),
        closeout=closeout.summary(closeout.record_of(job)),
        next_job=_next_job(job),
    )


def _form_of(record: dict) -> dict[str, str]:
    """A stored close-out as the form's fields, to show it again for a correction."""
    from webapp.jobs import closeout

    def yes_no(value: object) -> str:
        return "yes" if value else "no"

    if record.get("visit") == closeout.MAINTENANCE:
        return {
            "hub_in_place": yes_no(record.get("hub_in_place")),
            "note": record.get("note", ""),
        } | {f"replaced_{role}": "yes" for role in record.get("replaced", [])}
    form = {"installed": yes_no(record.get("installed")), "note": record.get("note", "")}
    if record.get("installed"):
        form |= {
            "chf_location": record.get("chf_location", ""),
            "aerial_install": yes_no(record.get("aerial_install")),
            "sm_wan": yes_no(record.get("sm_wan")),
            "premise_type": record.get("premise_type", ""),
        }
        form |= {
            k: "yes"
            for k in ("metal_obstruction", "connectivity_obstruction", "shared_obstruction")
            if record.get(k)
        }
    else:
        form["reason"] = record.get("reason", "")
    return form


def _connected_hub(job_id: str) -> str | None:
    """The hub this job holds an open link to now, if any."""
    runner = hht().station.runner
    if runner.link is None or runner.link_job != job_id:
        return None
    return runner.live(job_id).connected_hub or repo.get_job(get_db(), job_id)["connected_hub_id"]


def _next_job(job: dict) -> dict | None:
    """The installer's next job today that is not finished, after this one in the list."""
    rows = repo.jobs_for_installer(get_db(), job["assignee_id"], date.today().isoformat())
    ids = [r["id"] for r in rows]
    after = rows[ids.index(job["id"]) + 1 :] if job["id"] in ids else rows
    before = rows[: ids.index(job["id"])] if job["id"] in ids else []
    for row in after + before:
        if row["status"] not in FINISHED_JOB_STATUSES:
            return row
    return None


def next_step(job: dict) -> dict[str, str]:
    """The one main action for a job's state: what the installer does next, and where."""
    from flask import url_for

    from webapp.jobs import closeout

    job_id = job["id"]
    if job["status"] in FINISHED_JOB_STATUSES:
        if not closeout.is_closed_out(job):
            return {
                "label": "Record the visit"
                if doorstep.is_maintenance(job)
                else "Record the hub installation",
                "url": url_for("installer.finish", job_id=job_id),
                "id": "go-finish",
            }
        return {
            "label": "See the summary",
            "url": url_for("installer.summary", job_id=job_id),
            "id": "go-summary",
        }
    if job["status"] in (JobStatus.RUNNING, JobStatus.PAUSED) or _connected_hub(job_id):
        label = {
            JobStatus.RUNNING: "Open the running job",
            JobStatus.PAUSED: "Open the paused job",
        }.get(job["status"], "Run the job")
        return {"label": label, "url": url_for("installer.run", job_id=job_id), "id": "go-run"}
    hub_url = url_for("installer.hub", job_id=job_id)
    return {"label": "Find the hub", "url": hub_url, "id": "find-hub"}


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
