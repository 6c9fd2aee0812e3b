"""JSON endpoints the installer's pages call (all CSRF-checked, role-checked)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, jsonify, make_response, request

from webapp.auth.users import INSTALLER, SUPERVISOR
from webapp.duis.ids import format_eui
from webapp.gbcs.eui import EUI64_HEX_DIGITS, SEPARATORS, eui_text
from webapp.jobs import repo
from webapp.jobs.runner import RunnerError
from webapp.jobs.states import ABORT_REASONS, device_name
from webapp.web.context import get_db, hht, loop, station
from webapp.web.params import BodyRefused, json_body
from webapp.web.security import current_user, role_required
from webapp.zigbee.drivers.base import RadioError

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_NOTE_LENGTH = 500
MAX_METERS_SEEN = 4
MAX_PHOTO_READ = 15 * 1024 * 1024


def _fail(message: str, status: int = 400, **extra: Any):  # type: ignore[no-untyped-def]
    abort(make_response(jsonify(error=message, **extra), status))


def _job_for_installer(job_id: str) -> dict[str, Any]:
    job = repo.get_job(get_db(), job_id)
    user = current_user()
    if job is None or user is None or job["assignee_id"] != user.id:
        _fail(f"No job {job_id} for you.", 404)
    return job


def _body() -> dict[str, Any]:
    try:
        data = json_body()
    except BodyRefused as exc:
        _fail(str(exc))
    if data is None:
        return {}
    if not isinstance(data, dict):
        _fail("The request body must be a JSON object.")
    return data


def _actor() -> str:
    user = current_user()
    return f"{user.role}:{user.username}" if user else "?"


def _run(coro: Any) -> Any:
    try:
        return loop().call(coro)
    except RunnerError as exc:
        _fail(str(exc), 409)
    except RadioError as exc:
        _fail(exc.instruction, 502, code=exc.code.value)


@bp.get("/jobs/<job_id>")
@role_required(INSTALLER, SUPERVISOR)
def snapshot(job_id: str):  # type: ignore[no-untyped-def]
    user = current_user()
    job = repo.get_job(get_db(), job_id)
    if job is None or (user.role == INSTALLER and job["assignee_id"] != user.id):
        _fail(f"No job {job_id} for you.", 404)
    return jsonify(station().runner.snapshot(job_id))


@bp.post("/jobs/<job_id>/scan")
@role_required(INSTALLER)
def scan(job_id: str):  # type: ignore[no-untyped-def]
    _job_for_installer(job_id)
    beacons = _run(station().runner.scan(job_id))
    return jsonify(beacons=beacons, radio=station().driver.info.to_dict())


@bp.post("/jobs/<job_id>/connect")
@role_required(INSTALLER)
def connect(job_id: str):  # type: ignore[no-untyped-def]
    _job_for_installer(job_id)
    given = _body().get("hub_id")
    hub_id = eui_text(given)
    if hub_id is None:
        digits = SEPARATORS.sub("", given) if isinstance(given, str) else ""
        if len(digits) == EUI64_HEX_DIGITS:
            _fail("hub_id must be hexadecimal (0-9, A-F).")
        _fail("hub_id must be the hub's 16-digit id (from its label).")
    meters = _body().get("meters_seen", [])
    if not isinstance(meters, list) or len(meters) > MAX_METERS_SEEN:
        _fail(f"meters_seen must be a list of at most {MAX_METERS_SEEN} meter ids.")
    seen = set()
    for meter in meters:
        eui = eui_text(meter)
        if eui is None:
            _fail(f"meters_seen: {str(meter)[:40]!r} is not a 16-digit meter id.")
        seen.add(eui)
    _run(station().runner.connect(job_id, hub_id, _actor(), meters_seen=seen))
    return jsonify(ok=True)


@bp.post("/jobs/<job_id>/start")
@role_required(INSTALLER)
def start(job_id: str):  # type: ignore[no-untyped-def]
    _job_for_installer(job_id)
    _run(station().runner.start(job_id, _actor()))
    return jsonify(ok=True)


@bp.post("/jobs/<job_id>/pause")
@role_required(INSTALLER)
def pause(job_id: str):  # type: ignore[no-untyped-def]
    _job_for_installer(job_id)
    _run(station().runner.pause(job_id, _actor()))
    return jsonify(ok=True)


@bp.post("/jobs/<job_id>/abort")
@role_required(INSTALLER)
def abort_job(job_id: str):  # type: ignore[no-untyped-def]
    _job_for_installer(job_id)
    body = _body()
    reason = body.get("reason")
    note = body.get("note", "")
    if reason not in ABORT_REASONS:
        _fail("Choose a reason: " + ", ".join(ABORT_REASONS) + ".")
    if not isinstance(note, str) or len(note) > MAX_NOTE_LENGTH:
        _fail(f"The note is text of at most {MAX_NOTE_LENGTH} characters.")
    if reason == "other" and not note.strip():
        _fail("Say what the reason is in the note.")
    _run(station().runner.abort(job_id, reason, note.strip(), _actor()))
    return jsonify(ok=True)


def _sim_action(job_id: str, action: str, refusal: str):  # type: ignore[no-untyped-def]
    """Act on the simulated home (what the installer would do with their hands)."""
    job = _job_for_installer(job_id)
    han = station().han
    if hht().radio != "sim" or han is None:
        _fail(refusal, 409)

    async def act() -> str | None:
        hub = job["connected_hub_id"] or job["expected_hub_id"]
        try:
            getattr(han, action)(hub)
        except KeyError as exc:  # e.g. a home with no gas meter: say so, not a 500
            return str(exc.args[0]) if exc.args else "nothing to act on at this home"
        return None

    missing = _run(act())
    if missing:
        _fail(f"The simulated home cannot do that: {missing}.", 409)
    event = {"press_gsme_button": "Gas meter button pressed", "power_cycle": "Hub power-cycled"}
    station().runner.note(job_id, "sim", f"{event[action]} (simulator)", _actor())
    return jsonify(ok=True)


@bp.post("/jobs/<job_id>/sim/wake-gsme")
@role_required(INSTALLER)
def sim_wake_gsme(job_id: str):  # type: ignore[no-untyped-def]
    return _sim_action(
        job_id, "press_gsme_button", "Only the simulated HAN has a virtual gas meter button."
    )


@bp.post("/jobs/<job_id>/sim/power-cycle")
@role_required(INSTALLER)
def sim_power_cycle(job_id: str):  # type: ignore[no-untyped-def]
    return _sim_action(
        job_id,
        "power_cycle",
        "Only a simulated hub can be power-cycled from here; switch the real one off and on.",
    )


@bp.post("/jobs/<job_id>/sim/meter-menu")
@role_required(INSTALLER)
def sim_meter_menu(job_id: str):  # type: ignore[no-untyped-def]
    """Type the visit's PIN (or ``pin``) into a simulated meter's installer menu; what its
    display says. The PIN is neither logged nor noted."""
    job = _job_for_installer(job_id)
    han = station().han
    if hht().radio != "sim" or han is None:
        _fail("Only a simulated meter's menu can be used from here; use the real meter's.", 409)
    body = _body()
    meter = body.get("meter", "esme")
    if meter not in ("esme", "gsme"):
        _fail("meter must be esme or gsme.")
    pin = body.get("pin") or repo.visit_pin(get_db(), job_id)
    if not isinstance(pin, str) or not pin:
        _fail("This visit's work pack carries no installer PIN.", 409)
    hub = job["connected_hub_id"] or job["expected_hub_id"]

    async def act():  # type: ignore[no-untyped-def]
        return han.meter_menu(hub, meter, pin)

    result = _run(act())
    station().runner.note(
        job_id,
        "sim",
        f"Installer menu used on the {device_name(meter)} (simulator): {result.display}",
        _actor(),
    )
    return jsonify(result.to_dict())


@bp.post("/jobs/<job_id>/hub-label")
@role_required(INSTALLER)
def hub_label(job_id: str):  # type: ignore[no-untyped-def]
    """A photo of the hub label (multipart ``photo``), or the id read or typed on the phone."""
    from webapp.web.hublabel import HubLabelError, decode_photo, typed_hub_id

    job = _job_for_installer(job_id)
    try:
        if "photo" in request.files:
            label = decode_photo(
                request.files["photo"].read(MAX_PHOTO_READ + 1)[: MAX_PHOTO_READ + 1]
            )
        else:
            text = _body().get("text")
            if not isinstance(text, str):
                _fail("Send a photo of the hub label, or the id as text.")
            label = typed_hub_id(text)
    except HubLabelError as exc:
        _fail(str(exc), 422)
    expected = [h.upper() for h in job["candidate_hubs"]]
    matches = label.hub_id in expected
    message = (
        "The label matches this job's hub."
        if matches
        else f"The label says {format_eui(label.hub_id)}, but this job expects "
        f"{' or '.join(format_eui(h) for h in expected)}. "
        "Check you are at the right property and reading the right hub."
    )
    station().runner.note(
        job_id,
        "hub-label",
        f"Hub label read ({label.symbology}): {label.hub_id}"
        + ("" if matches else " - not this job's hub"),
        _actor(),
    )
    return jsonify(
        hub_id=label.hub_id, matches_job=matches, symbology=label.symbology, message=message
    )


@bp.get("/clock")
@role_required(INSTALLER, SUPERVISOR)
def clock():  # type: ignore[no-untyped-def]
    """The terminal's time, where it comes from and how good it is."""
    return jsonify(station().runner.clock.estimate().to_dict())
