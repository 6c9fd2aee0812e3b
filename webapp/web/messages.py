"""Any command or response, parsed for people, with sensitive parts withheld."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template

from webapp.auth.users import INSTALLER, SUPERVISOR
from webapp.gbcs.describe import describe
from webapp.gbcs.errors import GbcsError
from webapp.jobs import repo
from webapp.store.sql import get_row
from webapp.web.context import get_db, station
from webapp.web.params import path_id
from webapp.web.security import current_user, role_required

bp = Blueprint("messages", __name__, url_prefix="/messages")

WITHHELD_BYTE = "··"


def _allowed_job(job_id: str | None) -> dict[str, Any]:
    job = repo.get_job(get_db(), job_id) if job_id else None
    user = current_user()
    if job is None or user is None:
        abort(404)
    if user.role != SUPERVISOR and job["assignee_id"] != user.id:
        abort(404)
    return job


def hex_cells(raw: bytes, withheld: list[dict[str, Any]]) -> list[str]:
    """Each byte as two hex digits, bytes inside withheld ranges masked."""
    hidden = set()
    for part in withheld:
        hidden.update(range(part["offset"], part["offset"] + part["length"]))
    return [WITHHELD_BYTE if i in hidden else f"{b:02X}" for i, b in enumerate(raw)]


def _view(raw: bytes, title: str, job: dict[str, Any], **extra: Any) -> str:
    try:
        described = describe(raw, station().runner.certificates)
        error = None
    except GbcsError as exc:
        described, error = None, str(exc)
    cells = hex_cells(raw, described["withheld"] if described else [])
    return render_template(
        "messages/view.html",
        title=title,
        job=job,
        described=described,
        error=error,
        cells=cells,
        **extra,
    )


@bp.route("/command/<command_id>")
@role_required(INSTALLER, SUPERVISOR)
def command(command_id: str):  # type: ignore[no-untyped-def]
    db = get_db()
    number = path_id(command_id, "command id")
    row = get_row(db, "commands", number)
    if row is None:
        abort(404)
    job = _allowed_job(row["job_id"])
    answers = list(
        db.query(
            "SELECT id, route, received_at, outcome FROM responses "
            "WHERE command_id = ? ORDER BY id",
            [number],
        )
    )
    return _view(row["raw"], f"Command {row['seq']}: {row['use_case']}", job, responses=answers)


@bp.route("/response/<response_id>")
@role_required(INSTALLER, SUPERVISOR)
def response(response_id: str):  # type: ignore[no-untyped-def]
    row = get_row(get_db(), "responses", path_id(response_id, "response id"))
    if row is None:
        abort(404)
    job = _allowed_job(row["job_id"])
    return _view(
        row["raw"],
        f"{row['kind'].capitalize()} via {row['route'].upper()}",
        job,
        command_id=row["command_id"],
    )
