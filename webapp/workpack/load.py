"""Loading a work pack: verify everything, then write everything in one transaction.

Nothing is written unless the whole pack is good; a refusal lists every problem
found (signature, certificate, files, DUIS XML, each command), so the back office
can fix them in one go.

Verifying is the long part (unzipping, hashing, the signature, parsing every DUIS
file and command), and the pack comes from outside, so it is done on a reader
connection, **before** the store's writer is taken: the running job, logins and
button presses never wait for an upload.  Then one short transaction checks again
what the database might have changed meanwhile (the supplier's certificate, the pack,
its jobs and counters not loaded since) and writes.  Each command file is read once
however many times the manifest names it, and the command files are read only when
the manifest's signature is good: nothing an untrusted sender wrote is parsed beyond
the manifest.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from webapp.duis import DuisError, LocalCommand, parse_local_command
from webapp.gbcs.errors import GbcsError
from webapp.gbcs.message import parse_message
from webapp.jobs.loading import (
    CommandSpec,
    DeviceSetSpec,
    JobSpec,
    LoadError,
    ServiceRequestSpec,
    add_jobs,
    check_jobs,
)
from webapp.store.clock import utc_now
from webapp.store.db import Store
from webapp.workpack import unload
from webapp.workpack.archive import read_archive
from webapp.workpack.errors import WorkPackError
from webapp.workpack.manifest import MANIFEST_NAME, SIGNATURE_NAME, Manifest, parse_manifest
from webapp.workpack.trust import (
    fingerprint,
    sha256_hex,
    trusted_supplier,
    validity_problem,
    verify_detached,
)

log = logging.getLogger(__name__)

#: A refusal lists at most this many problems, then says how many more there were.
MAX_PROBLEMS_LISTED = 100
NOT_READ = (
    "the command files were not read: a pack's files are read only once its signature "
    "verifies with a trusted supplier's certificate"
)


class OtherSupplierWaiting(WorkPackError):
    """The pack is good, but another supplier's answers are still waiting to be unloaded."""


@dataclass
class VerifiedPack:
    manifest: Manifest
    sha256: str
    specs: list[JobSpec]
    device_certificates: dict[str, str] = field(default_factory=dict)  # EUI -> PEM
    supplier_fingerprint: str = ""  # the certificate the signature verified with


@dataclass(frozen=True)
class _CommandFile:
    """What one command file holds, read once: the command, and what is wrong with it."""

    spec: CommandSpec
    problem: str = ""  # about the file itself, whichever service request names it
    local: LocalCommand | None = None  # a DUIS file's envelope


def _read_command_file(name: str, content: bytes) -> _CommandFile:
    """The command a file carries (one parse of its XML and of its GBCS)."""
    if name.startswith("gbcs/"):
        if name.endswith(".hex"):
            try:
                raw = bytes.fromhex(content.decode("ascii").strip())
            except (UnicodeDecodeError, ValueError):
                return _CommandFile(CommandSpec(b""), f"{name}: not hexadecimal")
        else:
            raw = content
        return _CommandFile(CommandSpec(raw))
    try:
        local = parse_local_command(content)
    except DuisError as exc:
        return _CommandFile(CommandSpec(b""), f"{name}: {exc}")
    spec = CommandSpec(local.gbcs, local.request_id)
    try:
        msg = parse_message(local.gbcs)
    except GbcsError:
        return _CommandFile(spec, local=local)  # reported once, by the command checks
    if (local.originator, local.target, local.counter) != (
        msg.originator_hex,
        msg.recipient_hex,
        msg.counter,
    ):
        return _CommandFile(
            spec,
            f"{name}: DUIS RequestID {local.request_id} does not name the GBCS command inside "
            f"(originator {msg.originator_hex}, recipient {msg.recipient_hex}, counter "
            f"{msg.counter})",
            local,
        )
    return _CommandFile(spec, local=local)


class _CommandFiles:
    """The pack's command files, each read at its first mention and never again.

    A problem with a file is reported once, at its first mention, however often the
    manifest names it (the manifest refuses a second naming anyway)."""

    def __init__(self, members: dict[str, bytes]) -> None:
        self._members = members
        self._read: dict[str, _CommandFile] = {}
        self._reported: set[str] = set()

    def command(self, name: str, sr: dict[str, Any], problems: list[str], where: str):
        """The command ``name`` carries for the service request ``sr`` (None: not in the pack)."""
        if name not in self._members:
            return None  # reported with the file checks
        read = self._read.get(name)
        if read is None:
            read = self._read[name] = _read_command_file(name, self._members[name])
        self._report(name, read.problem, problems, where)
        variant = sr["service_reference_variant"]
        if read.local is not None and read.local.service_reference_variant != variant:
            self._report(
                f"{name} {variant}",
                f"{name}: DUIS ServiceReferenceVariant {read.local.service_reference_variant} "
                f"is not the service request's {variant}",
                problems,
                where,
            )
        return CommandSpec(read.spec.raw, read.spec.duis_request_id)

    def _report(self, key: str, problem: str, problems: list[str], where: str) -> None:
        if problem and key not in self._reported:
            self._reported.add(key)
            problems.append(f"{where}: {problem}")


def _job_spec(job: Any, files: _CommandFiles, supplier_eui: str, problems: list[str]):
    raw = job.raw
    srs = [
        ServiceRequestSpec(
            service_reference=sr["service_reference"],
            use_case=sr["use_case"],
            title=sr["title"],
            command_variant=sr["command_variant"],
            service_reference_variant=sr["service_reference_variant"],
        )
        for sr in job.service_requests
    ]
    sets = []
    for dset in job.device_sets:
        lists = []
        for sr, names in zip(job.service_requests, dset["commands"], strict=False):
            cmds = []
            for name in names:
                cmd = files.command(name, sr, problems, f"job {raw.get('id')}")
                if cmd is not None:
                    cmds.append(cmd)
            lists.append(cmds)
        sets.append(DeviceSetSpec(devices=dset["devices"], commands=lists, label=dset["label"]))
    return JobSpec(
        id=str(raw.get("id", "")),
        site=str(raw.get("site", "")),
        address=str(raw.get("address", "")),
        mpxn=str(raw.get("mpxn", "")),
        supplier_eui=supplier_eui,
        appointment=str(raw.get("appointment", "")),
        assignee=raw.get("assignee") if isinstance(raw.get("assignee"), str) else None,
        service_requests=srs,
        device_sets=sets,
        hub_install=raw.get("hub_install") if isinstance(raw.get("hub_install"), dict) else None,
        kind=str(raw.get("kind") or "install"),
        visit_pin=raw.get("installer_pin") if isinstance(raw.get("installer_pin"), str) else None,
    )


def _file_problems(manifest: Manifest, members: dict[str, bytes]) -> list[str]:
    problems = []
    for name, digest in manifest.files.items():
        if name not in members:
            problems.append(f"{name}: listed in the manifest but not in the pack")
        elif sha256_hex(members[name]) != digest:
            problems.append(f"{name}: its SHA-256 is not the one the manifest lists (altered)")
    for name in members:
        if name not in manifest.files and name not in (MANIFEST_NAME, SIGNATURE_NAME):
            problems.append(f"{name}: in the pack but not in the signed manifest")
    return problems


def _certificates(manifest: Manifest, members: dict[str, bytes], problems: list[str]):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    out = {}
    for eui, name in manifest.device_certificates.items():
        try:
            cert = x509.load_pem_x509_certificate(members.get(name, b""))
        except ValueError:
            problems.append(f"{name}: not a PEM certificate")
            continue
        out[eui] = cert.public_bytes(serialization.Encoding.PEM).decode()
    return out


def _listed(problems: list[str]) -> list[str]:
    """``problems``, the first MAX_PROBLEMS_LISTED of them and how many more there were."""
    if len(problems) <= MAX_PROBLEMS_LISTED:
        return problems
    more = len(problems) - MAX_PROBLEMS_LISTED
    return [*problems[:MAX_PROBLEMS_LISTED], f"... and {more} more problems"]


def _already_loaded(db: Database, manifest: Manifest, digest: str) -> str | None:
    earlier = db.execute(
        "SELECT loaded_at FROM work_packs WHERE sha256 = ? OR (pack_id = ? AND supplier_eui = ?)",
        [digest, manifest.pack_id, manifest.supplier_eui],
    ).fetchone()
    return f"work pack {manifest.pack_id} was already loaded ({earlier[0]})" if earlier else None


def verify_pack(
    db: Database, data: bytes, now: datetime | None = None, default_assignee: str | None = None
) -> VerifiedPack:
    """Check ``data`` completely against ``db``; WorkPackError lists every problem.

    Only reads ``db``: give it a reader connection, not the writer (see the module)."""
    members = read_archive(data)
    missing = [n for n in (MANIFEST_NAME, SIGNATURE_NAME) if n not in members]
    if missing:
        raise WorkPackError([f"the pack has no {n}" for n in missing])
    manifest, problems = parse_manifest(members[MANIFEST_NAME])
    if manifest is None:
        raise WorkPackError(problems)
    supplier = trusted_supplier(db, manifest.supplier_eui) if manifest.supplier_eui else None
    signed = False
    if supplier is None:
        problems.insert(
            0,
            f"signed by supplier {manifest.supplier_eui or '?'}, which this HHT does not trust "
            "(a supervisor adds its certificate on the Suppliers page)",
        )
    else:
        why = verify_detached(members[MANIFEST_NAME], members[SIGNATURE_NAME], supplier.certificate)
        if why:
            problems.insert(0, f"bad signature: {why}")
        signed = not why
        expired = validity_problem(supplier.certificate, now)
        if expired:
            problems.insert(0, f"supplier {supplier.name} ({supplier.eui}): {expired}")
    problems.extend(_file_problems(manifest, members))
    if not signed:
        raise WorkPackError(_listed([*problems, NOT_READ]))
    assert supplier is not None
    digest = sha256_hex(data)
    earlier = _already_loaded(db, manifest, digest)
    if earlier:
        problems.append(earlier)
    files = _CommandFiles(members)
    specs = [_job_spec(j, files, manifest.supplier_eui, problems) for j in manifest.jobs]
    for spec in specs:
        spec.assignee = spec.assignee or default_assignee
    certs = _certificates(manifest, members, problems)
    problems.extend(check_jobs(db, specs))
    if problems:
        raise WorkPackError(_listed(problems))
    return VerifiedPack(manifest, digest, specs, certs, fingerprint(supplier.certificate))


def _changed_meanwhile(db: Database, pack: VerifiedPack) -> list[str]:
    """What the database changed since ``pack`` was verified that makes it unloadable
    (checked in the writing transaction; cheap: no file is read again)."""
    m = pack.manifest
    supplier = trusted_supplier(db, m.supplier_eui)
    if supplier is None or fingerprint(supplier.certificate) != pack.supplier_fingerprint:
        return [f"supplier {m.supplier_eui}'s certificate changed while the pack was checked"]
    earlier = _already_loaded(db, m, pack.sha256)
    return [earlier] if earlier else []


@dataclass(frozen=True)
class LoadResult:
    work_pack_id: int
    pack_id: str
    supplier_eui: str
    job_ids: list[str]
    commands: int


def load_pack(
    store: Store,
    data: bytes,
    *,
    source: str,
    actor: str,
    accept_other_supplier: bool = False,
    default_assignee: str | None = None,
    now: datetime | None = None,
) -> LoadResult:
    """Verify and load ``data`` in one transaction, or change nothing and raise.

    ``default_assignee`` takes the pack's unassigned jobs (an installer loading the
    answer to their site survey).  The pack is verified before the store's writer is
    taken; the writer is held only for the short transaction that writes it."""
    pack = verify_pack(store.reader(), data, now, default_assignee)
    m = pack.manifest
    with store.write() as db:
        changed = _changed_meanwhile(db, pack)
        if changed:
            raise WorkPackError(changed)
        waiting = [w for w in unload.waiting_by_supplier(db) if w["supplier_eui"] != m.supplier_eui]
        if waiting and not accept_other_supplier:
            raise OtherSupplierWaiting(
                [
                    f"this HHT still holds {w['responses']} responses and {w['hub_statuses']} "
                    f"hub statuses for {w['name']} ({w['supplier_eui']}), waiting since "
                    f"{w['oldest'][:16]}: unload them first, or confirm to load anyway"
                    for w in waiting
                ]
            )
        pack_row = db["work_packs"].insert(
            {
                "name": m.pack_id,
                "pack_id": m.pack_id,
                "supplier_eui": m.supplier_eui,
                "signer_eui": m.supplier_eui,
                "sha256": pack.sha256,
                "source": source[:200],
                "jobs": len(pack.specs),
                "loaded_by": actor,
                "loaded_at": utc_now(),
            }
        )
        work_pack_id = pack_row.last_pk
        try:
            add_jobs(db, pack.specs, work_pack_id)  # checks the jobs again, in this transaction
        except LoadError as exc:  # a job or a counter loaded while the pack was checked
            raise WorkPackError(_listed(exc.problems)) from None
        if m.return_target and m.return_counter_start is not None:
            row = db["suppliers"].get(m.supplier_eui)
            current = row.get("return_counter_next") or 0
            db["suppliers"].update(
                m.supplier_eui,
                {
                    "dcc_eui": m.return_target,
                    "return_counter_next": max(current, m.return_counter_start),
                },
            )
        db.conn.executemany(  # plain SQL: sqlite-utils' upsert looks the table up per row
            "INSERT INTO device_certificates (eui, certificate_pem) VALUES (?, ?) "
            "ON CONFLICT (eui) DO UPDATE SET certificate_pem = excluded.certificate_pem",
            list(pack.device_certificates.items()),
        )
        commands = db.execute(
            "SELECT count(*) FROM commands c JOIN jobs j ON j.id = c.job_id "
            "WHERE j.work_pack_id = ?",
            [work_pack_id],
        ).fetchone()[0]
    log.info("work pack %s loaded: %d jobs", m.pack_id, len(pack.specs))
    return LoadResult(work_pack_id, m.pack_id, m.supplier_eui, [s.id for s in pack.specs], commands)


def describe(result: LoadResult) -> str:
    return json.dumps(
        {
            "work_pack": result.pack_id,
            "supplier": result.supplier_eui,
            "jobs": result.job_ids,
            "commands": result.commands,
        }
    )
