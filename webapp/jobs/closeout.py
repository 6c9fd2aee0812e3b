"""The close-out of a job: what the installer observed about the hub, recorded before the
job counts as finished on the doorstep.

The work pack may preset what the office knows (the kind of install); the facts only the
installer can see (where the hub is, whether an aerial was fitted, whether the hub reached
the smart-meter network) have no default: they come from the close-out form, or the
installer says the hub was not installed, and why. Only a close-out that says "installed"
becomes a hub status (DUIS 8.14.1, or 8.14.2 without a WAN signal) in the next unload.

A maintenance visit finds the hub already installed: its close-out says whether the hub is
still in place and working and which devices were replaced, and is never a hub
installation, so it owes no hub status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from webapp.duis import CHF_LOCATIONS, PREMISE_TYPES

NOT_INSTALLED_REASONS = {
    "no-access": "No access to the property or the meters",
    "unsafe": "Unsafe to install",
    "refused": "Customer refused",
    "existing-hub": "A working hub was already installed",
    "wrong-hub": "The hub on site is not the one in the job",
    "other": "Other (say why in the note)",
}
OBSTRUCTION_CHECKS = {
    "metal_obstruction": "Metal in the way (meter cabinet, cladding)",
    "connectivity_obstruction": "Walls or floors in the way of the signal",
    "shared_obstruction": "Obstruction shared with other homes (flats)",
}
MAX_NOTE_CHARS = 500
YES, NO = "yes", "no"


@dataclass
class CloseOut:
    """A validated close-out, or the problems that stop it being recorded."""

    record: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def parse_form(form: Mapping[str, str], preset: Mapping[str, Any] | None = None) -> CloseOut:
    """The close-out the installer submitted, checked field by field (``preset``: what the
    work pack said, kept where the form says nothing)."""
    out = CloseOut(record={k: v for k, v in (preset or {}).items() if k == "install_type"})
    installed = form.get("installed", "")
    if installed not in (YES, NO):
        out.problems.append("Say whether the hub is installed.")
        return out
    note = form.get("note", "").strip()
    if len(note) > MAX_NOTE_CHARS:
        out.problems.append(f"The note is over {MAX_NOTE_CHARS} characters.")
    if note:
        out.record["note"] = note
    if installed == NO:
        _not_installed(form, out, note)
    else:
        _installed(form, out)
    return out


def _not_installed(form: Mapping[str, str], out: CloseOut, note: str) -> None:
    reason = form.get("reason", "")
    if reason not in NOT_INSTALLED_REASONS:
        out.problems.append("Choose why the hub was not installed.")
    elif reason == "other" and not note:
        out.problems.append("Say in the note why the hub was not installed.")
    out.record.update({"installed": False, "reason": reason})


def _installed(form: Mapping[str, str], out: CloseOut) -> None:
    location = form.get("chf_location", "")
    if location not in CHF_LOCATIONS:
        out.problems.append("Choose where the hub is.")
    aerial = form.get("aerial_install", "")
    if aerial not in (YES, NO):
        out.problems.append("Say whether an external aerial was fitted.")
    wan = form.get("sm_wan", "")
    if wan not in (YES, NO):
        out.problems.append("Say whether the hub reached the smart-meter network.")
    out.record.update(
        {
            "installed": True,
            "chf_location": location,
            "aerial_install": aerial == YES,
            "sm_wan": wan == YES,
        }
    )
    if wan == NO:
        premise = form.get("premise_type", "")
        if premise not in PREMISE_TYPES:
            out.problems.append("With no network signal, choose the type of premises.")
        out.record["premise_type"] = premise
        for check in OBSTRUCTION_CHECKS:
            out.record[check] = form.get(check) == YES


MAINTENANCE = "maintenance"
REPLACEABLE = {"esme": "Electricity meter", "ihd": "In-home display", "gsme": "Gas meter"}


def parse_maintenance_form(form: Mapping[str, str]) -> CloseOut:
    """A maintenance visit's close-out: the hub still in place (or not, and why), and the
    devices replaced. It never says "installed": no hub status comes of it."""
    out = CloseOut(record={"visit": MAINTENANCE})
    in_place = form.get("hub_in_place", "")
    if in_place not in (YES, NO):
        out.problems.append("Say whether the hub is still in place and working.")
    note = form.get("note", "").strip()
    if len(note) > MAX_NOTE_CHARS:
        out.problems.append(f"The note is over {MAX_NOTE_CHARS} characters.")
    if in_place == NO and not note:
        out.problems.append("Say in the note what is wrong with the hub.")
    if note:
        out.record["note"] = note
    out.record["hub_in_place"] = in_place == YES
    out.record["replaced"] = [role for role in REPLACEABLE if form.get(f"replaced_{role}") == YES]
    return out


def replaced_by_plan(use_cases_and_titles: list[tuple[str, str]]) -> list[str]:
    """The devices a visit's service requests replace (CCS02 takes each out), by role."""
    words = {"esme": "electricity meter", "ihd": "in-home display", "gsme": "gas meter"}
    return [
        role
        for role, word in words.items()
        if any(uc == "CCS02" and word in title.lower() for uc, title in use_cases_and_titles)
    ]


def stamp(record: dict[str, Any], *, by: str, at: str) -> str:
    """The record as stored on the job, with who recorded it and when."""
    return json.dumps({**record, "recorded_by": by, "recorded_at": at}, sort_keys=True)


def record_of(job: Mapping[str, Any]) -> dict[str, Any]:
    """The job's hub-installation record (the work pack's preset until the installer
    records the close-out)."""
    try:
        value = json.loads(job.get("hub_install") or "null")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def is_closed_out(job: Mapping[str, Any]) -> bool:
    """Whether the installer has recorded the close-out (installed, or not and why)."""
    return bool(record_of(job).get("recorded_at"))


def hub_status_due(job: Mapping[str, Any]) -> bool:
    """Whether the job's close-out says the hub is installed (so a hub status is owed)."""
    record = record_of(job)
    return bool(record.get("recorded_at")) and record.get("installed") is True


def summary(record: Mapping[str, Any]) -> str:
    """One line for the job's log and the summary page."""
    if record.get("visit") == MAINTENANCE:
        hub = (
            "hub still in place and working"
            if record.get("hub_in_place")
            else "hub not working: " + str(record.get("note", ""))
        )
        replaced = [REPLACEABLE[r].lower() for r in record.get("replaced", []) if r in REPLACEABLE]
        return f"Maintenance visit: {hub}" + (
            f"; replaced: {', '.join(replaced)}" if replaced else ""
        )
    if not record.get("installed"):
        reason = NOT_INSTALLED_REASONS.get(record.get("reason", ""), "no reason given")
        return f"Hub not installed: {reason}"
    wan = "reaches the smart-meter network" if record.get("sm_wan") else "no network signal"
    aerial = ", external aerial fitted" if record.get("aerial_install") else ""
    return f"Hub installed: {record.get('chf_location')}, {wan}{aerial}"
