"""Unloading: handing the devices' answers back to the supplier as DUIS requests.

Per supplier (the commands' originator) the HHT writes a zip of DUIS 8.13 Return
Local Command Response bodies, one per command answered (the first answer; a
second copy that came by the other route is marked, never sent twice), and
8.14.1/8.14.2 hub status bodies for hubs installed, with a manifest signed by
the terminal's own key, which also carries the terminal's audit chain head, signed, and
the chain since the supplier's last confirmed unload (``unload_chain``).  Each unload is
recorded with what it carried; an item stays "waiting" until a supervisor confirms the
back office received an unload holding it, so an unload lost on the way is simply made
again.  Nothing is deleted by unloading.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from webapp.duis import (
    build_hub_install_status,
    build_return_local_command_response,
    format_request_id,
    sign_enveloped,
)
from webapp.identity import SigningIdentity
from webapp.store.audit.heads import write_head_file
from webapp.store.clock import utc_now
from webapp.store.db import Store
from webapp.workpack.archive import write_archive
from webapp.workpack.errors import WorkPackError
from webapp.workpack.trust import sha256_hex, sign_detached
from webapp.workpack.unload_chain import audit_for_unload

log = logging.getLogger(__name__)

UNLOAD_FORMAT = "hht-unload/1"
UNLOADS_DIR = "unloads"
BACKUPS_DIR = "backups"
DEFAULT_DCC_EUI = "90B3D51F30000002"  # the DCC's EUI in DUIS request ids (test ACB identity)
FINISHED = ("completed", "failed")
BOTH_ROUTES_VARIANTS = (3, 7)  # DUIS command variants that also go over the WAN


def _waiting_responses_sql(where: str = "") -> str:
    return f"""SELECT r.*, c.seq AS command_seq, c.use_case, c.duis_request_id,
                      c.recipient AS device, j.supplier_eui, sr.command_variant,
                      (SELECT group_concat(DISTINCT r2.route) FROM responses r2
                        WHERE r2.command_id = r.command_id) AS routes
               FROM responses r
               JOIN commands c ON c.id = r.command_id
               JOIN jobs j ON j.id = c.job_id
               JOIN service_requests sr ON sr.id = c.service_request_id
               WHERE r.duplicate_of IS NULL AND r.received_unload_id IS NULL {where}
               ORDER BY r.id"""


def _waiting_hubs_sql(where: str = "") -> str:
    """Finished jobs whose close-out says the hub is installed (``webapp.jobs.closeout``),
    not yet confirmed as received: only what the installer recorded owes a hub status."""
    return f"""SELECT j.* FROM jobs j
               WHERE j.connected_hub_id IS NOT NULL AND j.status IN {FINISHED}
                 AND j.hub_status_unload_id IS NULL
                 AND json_valid(j.hub_install)
                 AND json_extract(j.hub_install, '$.installed') = 1
                 AND json_extract(j.hub_install, '$.recorded_at') IS NOT NULL {where}
               ORDER BY j.finished_at, j.id"""


def waiting_by_supplier(db: Database) -> list[dict[str, Any]]:
    """Per supplier: answers and hub statuses not yet confirmed as received, and since when."""
    out: dict[str, dict[str, Any]] = {}
    for row in db.execute(
        "SELECT supplier_eui, count(*), min(received_at) FROM ("
        + _waiting_responses_sql()
        + ") GROUP BY supplier_eui"
    ):
        out[row[0]] = {
            "supplier_eui": row[0],
            "responses": row[1],
            "hub_statuses": 0,
            "oldest": row[2],
        }
    for row in db.execute(
        "SELECT supplier_eui, count(DISTINCT connected_hub_id), min(finished_at) FROM ("
        + _waiting_hubs_sql()
        + ") GROUP BY supplier_eui"
    ):
        entry = out.setdefault(
            row[0], {"supplier_eui": row[0], "responses": 0, "hub_statuses": 0, "oldest": row[2]}
        )
        entry["hub_statuses"] = row[1]
        entry["oldest"] = min(entry["oldest"] or row[2], row[2] or entry["oldest"])
    names = {r["eui"]: r["name"] for r in db["suppliers"].rows}
    for entry in out.values():
        entry["name"] = names.get(entry["supplier_eui"], entry["supplier_eui"])
        entry["oldest"] = entry["oldest"] or ""
    return sorted(out.values(), key=lambda e: e["oldest"])


@dataclass(frozen=True)
class Unload:
    id: int
    supplier_eui: str
    path: Path
    responses: int
    hub_statuses: int


class _Counter:
    """Request ids for what the HHT hands back: supplier : DCC : the supplier's counter."""

    def __init__(self, db: Database, supplier_eui: str) -> None:
        self.db, self.supplier = db, supplier_eui
        row = db["suppliers"].get(supplier_eui)
        self.target = row.get("dcc_eui") or DEFAULT_DCC_EUI
        self.next = row.get("return_counter_next") or int(time.time() * 1000)

    def take(self) -> str:
        value, self.next = self.next, self.next + 1
        return format_request_id(self.supplier, self.target, value)

    def save(self) -> None:
        self.db["suppliers"].update(self.supplier, {"return_counter_next": self.next})


def hub_status_body(job: dict[str, Any], request_id: str) -> tuple[str, bytes] | None:
    """The 8.14.1 or 8.14.2 body for a finished job's hub, or None if not recorded."""
    record = json.loads(job["hub_install"] or "null")
    if not record or not record.get("chf_location"):
        return None
    no_wan = record.get("sm_wan") is False
    variant = "8.14.2" if no_wan else "8.14.1"
    body = build_hub_install_status(
        request_id,
        variant,
        job["connected_hub_id"],
        job["mpxn"],
        install_type="CHF Install - no SM WAN"
        if no_wan
        else record.get("install_type", "New CHF Install"),
        chf_location=record["chf_location"],
        aerial_install=bool(record.get("aerial_install")),
        install_datetime=job["finished_at"],
        premise_type=record.get("premise_type"),
        metal_obstruction=bool(record.get("metal_obstruction")),
        connectivity_obstruction=bool(record.get("connectivity_obstruction")),
        shared_obstruction=bool(record.get("shared_obstruction")),
    )
    return variant, body


def latest_per_hub(jobs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One hub status per hub: the latest close-out of each hub speaks for it; earlier jobs
    at the same hub are marked ``superseded`` (with the job that speaks for them) so they stop
    waiting once the unload is confirmed, without a second status for one hub."""
    ordered = list(jobs)
    latest: dict[str, dict[str, Any]] = {}
    for job in ordered:  # in finishing order: the last one wins
        latest[job["connected_hub_id"]] = job
    out = []
    for job in ordered:
        winner = latest[job["connected_hub_id"]]
        out.append({**job, "superseded": None if winner is job else winner["id"]})
    return out


def _write_file(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def make_unload(
    store: Store,
    supplier_eui: str,
    terminal: SigningIdentity,
    *,
    actor: str,
    duis_signer: SigningIdentity | None = None,
) -> Unload:
    """Back up the database, then write and record the unload of everything waiting for
    ``supplier_eui``."""
    data_dir = store.data_dir
    reader = store.reader()
    if not reader["suppliers"].count_where("eui = ?", [supplier_eui]):
        raise WorkPackError([f"no supplier {supplier_eui} on this HHT"])
    backups = data_dir / BACKUPS_DIR
    backups.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    store.backup(backups / f"before-unload-{supplier_eui}-{stamp}-{time.time_ns()}.db")
    with store.write() as db:
        counter = _Counter(db, supplier_eui)
        members: dict[str, bytes] = {}
        items: list[dict[str, Any]] = []
        recorded: list[tuple[str, str, str]] = []
        for n, r in enumerate(
            db.query(_waiting_responses_sql("AND j.supplier_eui = ?"), [supplier_eui]), 1
        ):
            request_id = counter.take()
            body = build_return_local_command_response(
                request_id, r["duis_request_id"] or None, bytes(r["raw"])
            )
            if duis_signer:
                body = sign_enveloped(body, duis_signer.key, duis_signer.certificate)
            name = f"duis/{n:05d}-8.13.xml"
            members[name] = body
            routes = sorted(set((r["routes"] or r["route"]).split(",")))
            items.append(
                {
                    "file": name,
                    "service_reference_variant": "8.13",
                    "request_id": request_id,
                    "original_request_id": r["duis_request_id"] or None,
                    "job_id": r["job_id"],
                    "command_seq": r["command_seq"],
                    "use_case": r["use_case"],
                    "device": r["device"],
                    "counter": r["counter"],
                    "message_code": f"0x{r['message_code']:04X}",
                    "outcome": r["outcome"],
                    "received_at": r["received_at"],
                    "routes": routes,
                    "may_also_reach_you_by_wan": "wan" in routes
                    or r["command_variant"] in BOTH_ROUTES_VARIANTS,
                    "sha256": sha256_hex(body),
                }
            )
            recorded.append(("response", str(r["id"]), request_id))
        statuses: list[dict[str, Any]] = []
        not_recorded: list[str] = []
        superseded: list[dict[str, Any]] = []
        status_ids: dict[str, str] = {}  # hub -> the request id of its one status
        for job in latest_per_hub(
            db.query(_waiting_hubs_sql("AND j.supplier_eui = ?"), [supplier_eui])
        ):
            if job["superseded"]:
                superseded.append(job)
                continue
            request_id = counter.take()
            made = hub_status_body(job, request_id)
            if made is None:
                not_recorded.append(job["id"])
                continue
            variant, body = made
            if duis_signer:
                body = sign_enveloped(body, duis_signer.key, duis_signer.certificate)
            name = f"duis/hub-{job['id']}-{variant}.xml"
            members[name] = body
            statuses.append(
                {
                    "file": name,
                    "service_reference_variant": variant,
                    "request_id": request_id,
                    "job_id": job["id"],
                    "hub": job["connected_hub_id"],
                    "mpxn": job["mpxn"],
                    "sha256": sha256_hex(body),
                }
            )
            recorded.append(("hub-status", job["id"], request_id))
            status_ids[job["connected_hub_id"]] = request_id
        for job in superseded:  # confirmed with the one status that speaks for its hub
            if job["connected_hub_id"] in status_ids:
                recorded.append(("hub-status", job["id"], status_ids[job["connected_hub_id"]]))
        if not recorded:
            raise WorkPackError([f"nothing is waiting to be unloaded for supplier {supplier_eui}"])
        counter.save()
        unload_id = (
            db["unloads"]
            .insert(
                {
                    "supplier_eui": supplier_eui,
                    "created_at": utc_now(),
                    "created_by": actor,
                    "responses": len(items),
                    "hub_statuses": len(statuses),
                }
            )
            .last_pk
        )
        chain = audit_for_unload(
            db,
            data_dir,
            terminal,
            supplier_eui=supplier_eui,
            unload_id=unload_id,
            job_ids={i["job_id"] for i in items} | {s["job_id"] for s in statuses},
            at=utc_now(),
        )
        members.update(chain.members)
        manifest = {
            "format": UNLOAD_FORMAT,
            "unload_id": unload_id,
            "supplier": supplier_eui,
            "created_at": utc_now(),
            "terminal": {"id": terminal.terminal_id, "fingerprint": terminal.fingerprint},
            "duis_signed": duis_signer is not None,
            "responses": items,
            "hub_statuses": statuses,
            "hub_status_not_recorded": not_recorded,
            "audit": chain.manifest,
        }
        manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
        members["manifest.json"] = manifest_bytes
        members["manifest.sig"] = sign_detached(manifest_bytes, terminal.key)
        members["terminal.pem"] = terminal.certificate_pem
        archive = write_archive(members)
        directory = data_dir / UNLOADS_DIR
        directory.mkdir(exist_ok=True)
        name = f"unload-{unload_id:05d}-{supplier_eui}.zip"
        _write_file(directory / name, archive)
        db["unloads"].update(unload_id, {"file_name": name, "sha256": sha256_hex(archive)})
        db["unload_items"].insert_all(
            [
                {"unload_id": unload_id, "kind": kind, "ref": ref, "request_id": rid}
                for kind, ref, rid in recorded
            ]
        )
    if chain.intact:  # a broken chain's head must not replace the last good one on file
        write_head_file(data_dir, chain.recorded)
    log.info(
        "unload %d for %s: %d responses, %d hub statuses",
        unload_id,
        supplier_eui,
        len(items),
        len(statuses),
    )
    return Unload(unload_id, supplier_eui, directory / name, len(items), len(statuses))


def confirm_received(db: Database, unload_id: int, actor: str) -> int:
    """The back office has everything in ``unload_id``: its items stop waiting."""
    row = db.execute("SELECT confirmed_at FROM unloads WHERE id = ?", [unload_id]).fetchone()
    if row is None:
        raise WorkPackError([f"no unload {unload_id}"])
    if row[0]:
        raise WorkPackError([f"unload {unload_id} was confirmed already ({row[0]})"])
    db["unloads"].update(unload_id, {"confirmed_at": utc_now(), "confirmed_by": actor})
    changed = db.execute(
        "UPDATE responses SET received_unload_id = ? WHERE received_unload_id IS NULL AND id IN "
        "(SELECT CAST(ref AS INTEGER) FROM unload_items WHERE unload_id = ? AND kind = 'response')",
        [unload_id, unload_id],
    ).rowcount
    changed += db.execute(
        "UPDATE jobs SET hub_status_unload_id = ? WHERE hub_status_unload_id IS NULL AND id IN "
        "(SELECT ref FROM unload_items WHERE unload_id = ? AND kind = 'hub-status')",
        [unload_id, unload_id],
    ).rowcount
    return changed


def unloads(db: Database, limit: int = 50) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM unloads ORDER BY id DESC LIMIT ?", [limit]))
