"""Any command or response, parsed for people, with sensitive parts withheld."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, render_template
from sqlite_utils import Database

from webapp.auth.users import INSTALLER, SUPERVISOR
from webapp.gbcs.errors import GbcsError
from webapp.gbcs.signing import CertificateStore
from webapp.jobs import repo
from webapp.jobs.states import device_name
from webapp.store.sql import get_row
from webapp.web.context import get_db, station
from webapp.web.params import path_id
from webapp.web.security import current_user, role_required

bp = Blueprint("messages", __name__, url_prefix="/messages")

WITHHELD_BYTE = "··"

#: Roles in the order their names win when one id holds two roles (a hub's gas proxy is
#: also the id the hub is found by): the most particular name first.
ROLE_ORDER = ("esme", "gsme", "ihd", "chf", "gpf", "hub")

#: How an answer reached the terminal, in words.
ROUTE_WORDS = {"hht": "by radio to this terminal", "wan": "through the DCC"}
#: A device's verdict on a command, in words.
OUTCOME_WORDS = {"success": "Done", "failure": "Device refused"}
#: A message's signature check, in words.
SIGNATURE_WORDS = {
    "valid": "Valid",
    "invalid": "Invalid: not signed by who it says",
    "absent": "Not signed",
    "signer-unknown": "Signer not known to this terminal",
}
#: What kind of message it is, in words.
KIND_WORDS = {"command": "Command", "response": "Answer", "alert": "Alert"}
SUPPLIER_PREFIX = "Supplier: "


def route_words(route: str | None) -> str:
    return ROUTE_WORDS.get(route or "", route or "")


def outcome_words(outcome: str | None) -> str:
    return OUTCOME_WORDS.get(outcome or "", (outcome or "not known").capitalize())


def party_roles(db: Database, job: dict[str, Any]) -> dict[str, str]:
    """Who each id is, in words, for one job: its devices by role ("Electricity meter") and
    every supplier this terminal knows ("Supplier: <name>"). Keys are 16 upper-case hex digits."""
    roles: dict[str, str] = {}
    chosen = job.get("device_set") or {}
    if isinstance(chosen, str):  # a row as stored, not as repo.get_job gives it
        chosen = json.loads(chosen)
    for devices in [chosen, *(s["devices"] for s in repo.device_sets(db, job["id"]))]:
        for role in sorted(devices, key=lambda r: ROLE_ORDER.index(r) if r in ROLE_ORDER else 99):
            if devices[role]:
                roles.setdefault(str(devices[role]).upper(), device_name(role))
    for supplier in db.query("SELECT eui, name FROM suppliers"):
        roles.setdefault(supplier["eui"].upper(), SUPPLIER_PREFIX + supplier["name"])
    return roles


def _from_whom(who: str | None) -> str:
    """ "the electricity meter", "the supplier Demo Energy" or "a device", for a title."""
    if not who:
        return "a device"
    if who.startswith(SUPPLIER_PREFIX):
        return "the supplier " + who.removeprefix(SUPPLIER_PREFIX)
    return "the " + who.lower()


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


def view_context(
    raw: bytes,
    title: str,
    job: dict[str, Any],
    certificates: CertificateStore,
    parties: dict[str, str],
    **extra: Any,
) -> dict[str, Any]:
    """Everything templates/messages/view.html reads, for one message of ``job``: the HHT's
    view and the fleet office's both render it with this."""
    # the codec's views (describe and its payload views) load with the first message shown:
    # an idle server holds none of them
    from webapp.gbcs.describe import describe

    try:
        described = describe(raw, certificates)
        error = None
    except GbcsError as exc:
        described, error = None, str(exc)
    cells = hex_cells(raw, described["withheld"] if described else [])
    return {
        "title": title,
        "job": job,
        "described": described,
        "error": error,
        "cells": cells,
        "parties": parties,
        "kind_words": KIND_WORDS,
        "signature_words": SIGNATURE_WORDS,
        "outcome_words": outcome_words,
        "route_words": route_words,
        **extra,
    }


def _view(raw: bytes, title: str, job: dict[str, Any], **extra: Any) -> str:
    return render_template(
        "messages/view.html",
        **view_context(
            raw, title, job, station().runner.certificates, party_roles(get_db(), job), **extra
        ),
    )


def _service_request_title(db: Database, service_request_id: int | None) -> str:
    row = get_row(db, "service_requests", service_request_id) if service_request_id else None
    return (row or {}).get("title") or ""


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
    request_title = _service_request_title(db, row["service_request_id"])
    return _view(
        row["raw"],
        f"Command {row['seq']}: {request_title or row['use_case']}",
        job,
        code=row["use_case"],
        responses=answers,
    )


@bp.route("/response/<response_id>")
@role_required(INSTALLER, SUPERVISOR)
def response(response_id: str):  # type: ignore[no-untyped-def]
    db = get_db()
    row = get_row(db, "responses", path_id(response_id, "response id"))
    if row is None:
        abort(404)
    job = _allowed_job(row["job_id"])
    kind = KIND_WORDS.get(row["kind"], row["kind"].capitalize())
    who = party_roles(db, job).get((row["originator"] or "").upper())
    return _view(
        row["raw"],
        f"{kind} from {_from_whom(who)}",
        job,
        code=f"{row['kind']} via {row['route'].upper()}",
        route=route_words(row["route"]),
        command_id=row["command_id"],
    )
