"""Adding jobs to the database: everything is checked before anything is written.

The work-pack loader and the demo data both describe jobs as :class:`JobSpec`
and call :func:`add_jobs`, which either adds all of them or none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlite_utils import Database

from webapp.auth.users import INSTALLER, find_user
from webapp.gbcs.errors import GbcsError
from webapp.gbcs.header import Cra
from webapp.gbcs.message import parse_message
from webapp.gbcs.usecases import use_case_for
from webapp.jobs.states import CommandState, JobStatus
from webapp.store.clock import utc_now
from webapp.store.events import append_event

DEVICE_ROLES = ("chf", "gpf", "esme", "gsme", "ihd")


class LoadError(ValueError):
    """Jobs that cannot be loaded, with every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class CommandSpec:
    raw: bytes


@dataclass
class ServiceRequestSpec:
    service_reference: str
    use_case: str
    title: str
    duis_request_id: str
    command_variant: int
    commands: list[CommandSpec] = field(default_factory=list)


@dataclass
class JobSpec:
    id: str
    site: str
    address: str
    mpxn: str
    supplier_eui: str
    appointment: str
    assignee: str | None
    device_set: dict[str, str]  # role -> EUI (16 hex); "hub" is the GPF id
    service_requests: list[ServiceRequestSpec] = field(default_factory=list)


def _role_of(device_set: dict[str, str], eui: str) -> str | None:
    for role in DEVICE_ROLES:
        if device_set.get(role, "").upper() == eui:
            return role
    return None


def check_jobs(db: Database, specs: list[JobSpec]) -> list[str]:
    """Every problem with ``specs``; an empty list means they can be added."""
    problems: list[str] = []
    seen_ids: set[str] = set()
    seen_transactions: set[tuple[str, str, int, int]] = set()
    for spec in specs:
        where = f"job {spec.id}"
        if spec.id in seen_ids:
            problems.append(f"{where}: the job id appears twice")
        seen_ids.add(spec.id)
        if db["jobs"].count_where("id = ?", [spec.id]):
            problems.append(f"{where}: already loaded")
        if not db["suppliers"].count_where("eui = ?", [spec.supplier_eui]):
            problems.append(f"{where}: supplier {spec.supplier_eui} is not trusted here")
        if spec.assignee:
            user = find_user(db, spec.assignee)
            if user is None or user["role"] != INSTALLER:
                problems.append(f"{where}: no installer {spec.assignee}")
        if "hub" not in spec.device_set:
            problems.append(f"{where}: the device set has no hub id")
        for sr in spec.service_requests:
            if not sr.commands:
                problems.append(f"{where}, service request {sr.duis_request_id}: no commands")
            for n, cmd in enumerate(sr.commands, 1):
                at = f"{where}, service request {sr.duis_request_id}, command {n}"
                try:
                    msg = parse_message(cmd.raw)
                except GbcsError as exc:
                    problems.append(f"{at}: not a GBCS message ({exc})")
                    continue
                if msg.header.cra != Cra.COMMAND or msg.kind != "command":
                    problems.append(f"{at}: is a {msg.kind}, not a command")
                    continue
                if _role_of(spec.device_set, msg.recipient_hex) is None:
                    problems.append(
                        f"{at}: recipient {msg.recipient_hex} is not in the job's device set"
                    )
                if msg.originator_hex != spec.supplier_eui:
                    problems.append(
                        f"{at}: originator {msg.originator_hex} is not the job's supplier"
                    )
                key = (msg.originator_hex, msg.recipient_hex, msg.counter, msg.message_code)
                if key in seen_transactions or db["commands"].count_where(
                    "originator = ? AND recipient = ? AND counter = ? AND message_code = ?",
                    list(key),
                ):
                    problems.append(f"{at}: counter {msg.counter} was already seen")
                seen_transactions.add(key)
    return problems


def add_jobs(db: Database, specs: list[JobSpec], work_pack_id: int | None = None) -> None:
    """Add ``specs`` in the caller's transaction, or raise LoadError and add nothing."""
    problems = check_jobs(db, specs)
    if problems:
        raise LoadError(problems)
    now = utc_now()
    for spec in specs:
        assignee = find_user(db, spec.assignee) if spec.assignee else None
        db["jobs"].insert(
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
                "expected_hub_id": spec.device_set["hub"].upper(),
                "device_set": json.dumps(spec.device_set, sort_keys=True),
                "created_at": now,
            }
        )
        seq = 0
        for sr_seq, sr in enumerate(spec.service_requests, 1):
            sr_id = (
                db["service_requests"]
                .insert(
                    {
                        "job_id": spec.id,
                        "seq": sr_seq,
                        "service_reference": sr.service_reference,
                        "use_case": sr.use_case,
                        "title": sr.title,
                        "duis_request_id": sr.duis_request_id,
                        "command_variant": sr.command_variant,
                        "state": "queued",
                    }
                )
                .last_pk
            )
            for cmd in sr.commands:
                seq += 1
                msg = parse_message(cmd.raw)
                known = use_case_for(msg.message_code)
                db["commands"].insert(
                    {
                        "job_id": spec.id,
                        "service_request_id": sr_id,
                        "seq": seq,
                        "raw": cmd.raw,
                        "counter": msg.counter,
                        "message_code": msg.message_code,
                        "use_case": known[0] if known else sr.use_case,
                        "originator": msg.originator_hex,
                        "recipient": msg.recipient_hex,
                        "device_role": _role_of(spec.device_set, msg.recipient_hex),
                        "state": CommandState.QUEUED.value,
                        "attempts": 0,
                        "updated_at": now,
                    }
                )
        append_event(
            db,
            spec.id,
            "loaded",
            f"Job loaded with {len(spec.service_requests)} service requests and {seq} commands",
            {"work_pack_id": work_pack_id},
        )
