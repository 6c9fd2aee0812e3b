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
    return render_template(
        "installer/job.html",
        job=job,
        snapshot=snapshot,
        no_wan=warning_for(get_db(), job["mpxn"]),
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
