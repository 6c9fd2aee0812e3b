"""Adding jobs to the database: everything is checked before anything is written.

The work-pack loader and the demo data both describe jobs as :class:`JobSpec`
and call :func:`add_jobs`, which either adds all of them or none.

A job has its ordered service requests (what is to be done) and one or more
candidate device sets (which hub and meters it may meet on site), each with
its own commands for those service requests: the DCC prepares commands per
device, and the supplier may not know which hub or meter is in the cupboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from webapp.auth.users import INSTALLER, find_user
from webapp.gbcs.errors import GbcsError
from webapp.gbcs.eui import strict_eui_text
from webapp.gbcs.header import Cra
from webapp.gbcs.message import parse_message
from webapp.gbcs.usecases import use_case_for
from webapp.jobs.states import CommandState, JobStatus
from webapp.store.clock import utc_now
from webapp.store.events import append_event

DEVICE_ROLES = ("chf", "gpf", "esme", "gsme", "ihd")
SET_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_DEVICE_SETS = len(SET_LABELS)


class LoadError(ValueError):
    """Jobs that cannot be loaded, with every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class CommandSpec:
    raw: bytes
    duis_request_id: str = ""


@dataclass
class ServiceRequestSpec:
    service_reference: str
    use_case: str
    title: str
    command_variant: int
    service_reference_variant: str = ""


@dataclass
class DeviceSetSpec:
    """One possibility for what is on site, with its commands per service request."""

    devices: dict[str, str]  # role -> EUI (16 hex); "hub" is the hub's (GPF) id
    commands: list[list[CommandSpec]] = field(default_factory=list)  # per service request
    label: str = ""

    @property
    def hub_id(self) -> str:
        return self.devices.get("hub", "").upper()


@dataclass
class JobSpec:
    id: str
    site: str
    address: str
    mpxn: str
    supplier_eui: str
    appointment: str
    assignee: str | None
    service_requests: list[ServiceRequestSpec] = field(default_factory=list)
    device_sets: list[DeviceSetSpec] = field(default_factory=list)
    hub_install: dict[str, object] | None = None  # defaults for the 8.14.x hub status
    kind: str = "install"  # install | maintenance (webapp.jobs.doorstep)
    visit_pin: str | None = field(default=None, repr=False)  # the meter menu's: a secret


def role_of(devices: dict[str, str], eui: str) -> str | None:
    for role in DEVICE_ROLES:
        if devices.get(role, "").upper() == eui:
            return role
    return None


def _is_eui(value: object) -> bool:
    return strict_eui_text(value) is not None


def _check_devices(where: str, devices: dict[str, str]) -> list[str]:
    problems = []
    if not devices.get("hub"):
        problems.append(f"{where}: the device set has no hub id")
    for role, eui in devices.items():
        if role != "hub" and role not in DEVICE_ROLES:
            problems.append(f"{where}: unknown device role {role!r}")
        elif eui and not _is_eui(eui):
            problems.append(f"{where}: {role} id {eui!r} is not 16 hex digits")
    return problems


def _exists(db: Database, where: str, params: list[object]) -> bool:
    """Whether a row matches (plain SQL: this runs again inside the writer, per command)."""
    return db.execute(f"SELECT 1 FROM {where} LIMIT 1", params).fetchone() is not None


def _check_command(
    db: Database,
    at: str,
    spec: JobSpec,
    devices: dict[str, str],
    cmd: CommandSpec,
    seen: set[tuple[str, str, int, int]],
) -> list[str]:
    try:
        msg = parse_message(cmd.raw)
    except GbcsError as exc:
        return [f"{at}: not a GBCS message ({exc})"]
    if msg.header.cra != Cra.COMMAND or msg.kind != "command":
        return [f"{at}: is a {msg.kind}, not a command"]
    problems = []
    if role_of(devices, msg.recipient_hex) is None:
        problems.append(f"{at}: recipient {msg.recipient_hex} is not in its device set")
    if msg.originator_hex != spec.supplier_eui:
        problems.append(f"{at}: originator {msg.originator_hex} is not the job's supplier")
    key = (msg.originator_hex, msg.recipient_hex, msg.counter, msg.message_code)
    if key in seen or _exists(
        db,
        "commands WHERE originator = ? AND recipient = ? AND counter = ? AND message_code = ?",
        list(key),
    ):
        problems.append(f"{at}: counter {msg.counter} was already seen")
    seen.add(key)
    return problems


def _assignees(db: Database, specs: list[JobSpec]) -> dict[str, dict[str, Any] | None]:
    """Each assignee named, looked up once (a pack's jobs mostly share a few installers)."""
    return {name: find_user(db, name) for name in {s.assignee for s in specs if s.assignee}}


def check_jobs(db: Database, specs: list[JobSpec]) -> list[str]:
    """Every problem with ``specs``; an empty list means they can be added."""
    problems: list[str] = []
    seen_ids: set[str] = set()
    seen_transactions: set[tuple[str, str, int, int]] = set()
    users = _assignees(db, specs)
    for spec in specs:
        where = f"job {spec.id}"
        if spec.id in seen_ids:
            problems.append(f"{where}: the job id appears twice")
        seen_ids.add(spec.id)
        if _exists(db, "jobs WHERE id = ?", [spec.id]):
            problems.append(f"{where}: already loaded")
        if not _exists(db, "suppliers WHERE eui = ?", [spec.supplier_eui]):
            problems.append(f"{where}: supplier {spec.supplier_eui} is not trusted here")
        if spec.assignee:
            user = users[spec.assignee]
            if user is None or user["role"] != INSTALLER:
                problems.append(f"{where}: no installer {spec.assignee}")
        if spec.kind not in ("install", "maintenance"):
            problems.append(f"{where}: kind must be install or maintenance")
        if not spec.service_requests:
            problems.append(f"{where}: no service requests")
        if not spec.device_sets:
            problems.append(f"{where}: no candidate device set")
        if len(spec.device_sets) > MAX_DEVICE_SETS:
            problems.append(f"{where}: more than {MAX_DEVICE_SETS} candidate device sets")
        hubs_seen: dict[tuple[str, ...], int] = {}
        for n, dset in enumerate(spec.device_sets[:MAX_DEVICE_SETS]):
            label = dset.label or SET_LABELS[n]
            at_set = f"{where}, device set {label}"
            problems.extend(_check_devices(at_set, dset.devices))
            ids = tuple(sorted(v.upper() for v in dset.devices.values()))
            if ids in hubs_seen:
                problems.append(f"{at_set}: the same devices as set {SET_LABELS[hubs_seen[ids]]}")
            hubs_seen.setdefault(ids, n)
            if len(dset.commands) != len(spec.service_requests):
                problems.append(
                    f"{at_set}: has commands for {len(dset.commands)} service requests, "
                    f"the job has {len(spec.service_requests)}"
                )
            for sr, cmds in zip(spec.service_requests, dset.commands, strict=False):
                at_sr = f"{at_set}, service request {sr.service_reference} {sr.use_case}"
                if not cmds:
                    problems.append(f"{at_sr}: no commands")
                for c, cmd in enumerate(cmds, 1):
                    problems.extend(
                        _check_command(
                            db, f"{at_sr}, command {c}", spec, dset.devices, cmd, seen_transactions
                        )
                    )
    return problems


def _insert(db: Database, table: str, row: dict[str, object]) -> int:
    """Insert ``row`` into ``table``; its rowid.

    Plain SQL, not sqlite-utils' ``insert`` (which looks the table up again for every
    row): a pack's rows are written inside the store's writer, which must be held briefly.
    """
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    cursor = db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))
    return int(cursor.lastrowid or 0)


def _insert_job(
    db: Database,
    spec: JobSpec,
    work_pack_id: int | None,
    now: str,
    users: dict[str, dict[str, Any] | None],
) -> int:
    first = spec.device_sets[0]
    assignee = users[spec.assignee] if spec.assignee else None
    _insert(
        db,
        "jobs",
        {
            "id": spec.id,
            "work_pack_id": work_pack_id,
            "site": spec.site,
            "address": spec.address,
            "mpxn": spec.mpxn,
            "supplier_eui": spec.supplier_eui,
            "appointment": spec.appointment,
            "assignee_id": assignee["id"] if assignee else None,
            "status": JobStatus.READY.value,
            "status_message": "",
            # until a set is chosen on site these describe the first candidate
            "expected_hub_id": first.hub_id,
            "device_set": json.dumps(first.devices, sort_keys=True),
            "device_set_id": None,
            "hub_install": json.dumps(spec.hub_install) if spec.hub_install else None,
            "kind": spec.kind,
            "visit_pin": spec.visit_pin,
            "created_at": now,
        },
    )
    sr_ids = [
        _insert(
            db,
            "service_requests",
            {
                "job_id": spec.id,
                "seq": sr_seq,
                "service_reference": sr.service_reference,
                "service_reference_variant": sr.service_reference_variant or sr.service_reference,
                "use_case": sr.use_case,
                "title": sr.title,
                "duis_request_id": "",
                "command_variant": sr.command_variant,
                "state": "queued",
            },
        )
        for sr_seq, sr in enumerate(spec.service_requests, 1)
    ]
    seq = 0
    for n, dset in enumerate(spec.device_sets):
        set_id = _insert(
            db,
            "device_sets",
            {
                "job_id": spec.id,
                "seq": n + 1,
                "label": dset.label or SET_LABELS[n],
                "hub_id": dset.hub_id,
                "devices": json.dumps(
                    {k: v.upper() for k, v in dset.devices.items()}, sort_keys=True
                ),
            },
        )
        if len(spec.device_sets) == 1:
            db.execute("UPDATE jobs SET device_set_id = ? WHERE id = ?", [set_id, spec.id])
        for sr_id, sr, cmds in zip(sr_ids, spec.service_requests, dset.commands, strict=True):
            for cmd in cmds:
                seq += 1
                msg = parse_message(cmd.raw)
                known = use_case_for(msg.message_code)
                _insert(
                    db,
                    "commands",
                    {
                        "job_id": spec.id,
                        "service_request_id": sr_id,
                        "device_set_id": set_id,
                        "seq": seq,
                        "raw": cmd.raw,
                        "counter": msg.counter,
                        "message_code": msg.message_code,
                        "use_case": known[0] if known else sr.use_case,
                        "originator": msg.originator_hex,
                        "recipient": msg.recipient_hex,
                        "device_role": role_of(dset.devices, msg.recipient_hex),
                        "duis_request_id": cmd.duis_request_id,
                        "state": CommandState.QUEUED.value,
                        "attempts": 0,
                        "updated_at": now,
                    },
                )
    return seq


def add_jobs(db: Database, specs: list[JobSpec], work_pack_id: int | None = None) -> None:
    """Add ``specs`` in the caller's transaction, or raise LoadError and add nothing."""
    problems = check_jobs(db, specs)
    if problems:
        raise LoadError(problems)
    now = utc_now()
    users = _assignees(db, specs)
    for spec in specs:
        count = _insert_job(db, spec, work_pack_id, now, users)
        sets = len(spec.device_sets)
        append_event(
            db,
            spec.id,
            "loaded",
            f"Job loaded with {len(spec.service_requests)} service requests and {count} "
            "commands" + (f" across {sets} candidate device sets" if sets > 1 else ""),
            {"work_pack_id": work_pack_id, "device_sets": sets},
        )
