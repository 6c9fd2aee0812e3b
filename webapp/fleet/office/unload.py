"""The central unload: per supplier, the DUIS 8.13 and 8.14 bodies of every synced answer.

The bodies are made by the HHT's own builders (``webapp.duis`` and the hub status of
``webapp.workpack.unload``), so they are the same as an HHT's unload.  What waits:

* an answer (the first copy of a command's response) that no HHT unload holds and no
  *confirmed* central unload holds: the same confirm-received rule as on the HHT, so a
  central unload lost on the way is simply made again;
* a hub status on the same terms, by the HHT's own rule: a finished job whose close-out
  says the hub is installed (:func:`webapp.jobs.closeout.hub_status_due`), one status per
  hub, the latest close-out speaking for it and earlier jobs at that hub confirmed with it
  (:func:`webapp.workpack.unload.latest_per_hub`).

An answer the HHT put in an unload of its own is the HHT's to hand back: it is never
unloaded centrally.  An answer unloaded centrally is marked on its HHT at the HHT's next
sync, so the HHT does not offer it again.  Request ids use the fleet's own counter per
supplier, started at the time in microseconds: above the HHTs' own (milliseconds, or a
pack's counter).

Each central unload's manifest is signed by the fleet's own identity
(:mod:`webapp.fleet.office.identity`): ``manifest.sig`` over ``manifest.json``, with the
fleet's certificate as ``fleet.pem``, as an HHT signs its unload; :func:`check_signature`
is the back office's check.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from webapp.duis import build_return_local_command_response, format_request_id
from webapp.identity import SigningIdentity
from webapp.jobs import closeout
from webapp.workpack import unload as hht_unload
from webapp.workpack.archive import read_archive, write_archive
from webapp.workpack.errors import WorkPackError
from webapp.workpack.trust import sha256_hex, sign_detached, verify_detached

log = logging.getLogger(__name__)

CENTRAL_FORMAT = "hht-fleet-unload/1"
FLEET_UNLOAD_PREFIX = "fleet:"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
CERTIFICATE = "fleet.pem"

_NOT_HHT_UNLOADED = """NOT EXISTS (
    SELECT 1 FROM hht_unload_items i JOIN hht_unloads u
      ON u.hht_id = i.hht_id AND u.id = i.unload_id
    WHERE i.hht_id = {t}.hht_id AND i.kind = '{kind}' AND i.ref = {ref}
      AND coalesce(u.file_name, '') NOT LIKE 'fleet:%%')
  AND NOT EXISTS (
    SELECT 1 FROM central_unload_items ci JOIN central_unloads cu ON cu.id = ci.unload_id
    WHERE ci.hht_id = {t}.hht_id AND ci.kind = '{kind}' AND ci.ref = {ref}
      AND cu.confirmed_at IS NOT NULL)"""

WAITING_RESPONSES = f"""
SELECT r.hht_id, r.id, r.raw, r.job_id, r.counter, r.message_code, r.outcome, r.received_at,
       r.route, c.seq AS command_seq, c.use_case, c.duis_request_id, c.recipient AS device,
       j.supplier_eui, sr.command_variant
FROM responses r
JOIN commands c ON c.hht_id = r.hht_id AND c.id = r.command_id
JOIN jobs j ON j.hht_id = r.hht_id AND j.id = c.job_id
LEFT JOIN service_requests sr ON sr.hht_id = c.hht_id AND sr.id = c.service_request_id
LEFT JOIN hht_unloads hu ON hu.hht_id = r.hht_id AND hu.id = r.received_unload_id
WHERE r.duplicate_of IS NULL
  AND (r.received_unload_id IS NULL OR hu.file_name LIKE 'fleet:%%')
  AND {_NOT_HHT_UNLOADED.format(t="r", kind="response", ref="r.id::text")}
"""

#: Finished jobs at a hub whose hub status no unload holds yet; which of them owe one is the
#: HHT's own rule (:func:`webapp.jobs.closeout.hub_status_due`), applied in :func:`_due_hubs`.
FINISHED_AT_A_HUB = f"""
SELECT j.* FROM jobs j
LEFT JOIN hht_unloads hu ON hu.hht_id = j.hht_id AND hu.id = j.hub_status_unload_id
WHERE j.connected_hub_id IS NOT NULL AND j.status = ANY(%(finished)s)
  AND (j.hub_status_unload_id IS NULL OR hu.file_name LIKE 'fleet:%%')
  AND {_NOT_HHT_UNLOADED.format(t="j", kind="hub-status", ref="j.id")}
"""


class CentralUnloadError(ValueError):
    """Nothing to unload, or no such unload, with the reason."""


@dataclass(frozen=True)
class CentralUnload:
    id: int
    supplier_eui: str
    data: bytes
    responses: int
    hub_statuses: int


def waiting(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Per supplier: answers and hub statuses waiting, and since when."""
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(
        f"SELECT supplier_eui, count(*) AS n, min(received_at) AS oldest FROM "
        f"({WAITING_RESPONSES}) w GROUP BY supplier_eui"
    ):
        out[row["supplier_eui"]] = {
            "supplier_eui": row["supplier_eui"],
            "responses": row["n"],
            "hub_statuses": 0,
            "oldest": row["oldest"] or "",
        }
    hubs: dict[str, set[str]] = {}
    for job in _due_hubs(conn):
        supplier = job["supplier_eui"]
        hubs.setdefault(supplier, set()).add(job["connected_hub_id"])
        entry = out.setdefault(
            supplier,
            {"supplier_eui": supplier, "responses": 0, "hub_statuses": 0, "oldest": ""},
        )
        finished = job["finished_at"] or ""
        if finished and (not entry["oldest"] or finished < entry["oldest"]):
            entry["oldest"] = finished
    for supplier, seen in hubs.items():
        out[supplier]["hub_statuses"] = len(seen)  # one status per hub, as on the HHT
    names = {r["eui"]: r["name"] for r in conn.execute("SELECT eui, name FROM suppliers")}
    for entry in out.values():
        entry["name"] = names.get(entry["supplier_eui"]) or entry["supplier_eui"]
    return sorted(out.values(), key=lambda e: e["oldest"])


def _due_hubs(conn: psycopg.Connection, supplier_eui: str | None = None) -> list[dict[str, Any]]:
    """Finished jobs whose close-out owes a hub status (the HHT's rule), in finishing order."""
    where = "WHERE supplier_eui = %(supplier)s" if supplier_eui else ""
    rows = conn.execute(
        f"SELECT * FROM ({FINISHED_AT_A_HUB}) w {where} ORDER BY finished_at, hht_id, id",
        {"finished": list(hht_unload.FINISHED), "supplier": supplier_eui},
    ).fetchall()
    return [dict(r) for r in rows if closeout.hub_status_due(r)]


class _Counter:
    def __init__(self, conn: psycopg.Connection, supplier_eui: str) -> None:
        row = conn.execute(
            "SELECT dcc_eui, return_counter_next FROM suppliers WHERE eui = %s FOR UPDATE",
            [supplier_eui],
        ).fetchone()
        self.conn, self.supplier = conn, supplier_eui
        self.target = (row and row["dcc_eui"]) or hht_unload.DEFAULT_DCC_EUI
        floor = time.time_ns() // 1000
        self.next = max(int(row["return_counter_next"] or 0) if row else 0, floor)

    def take(self) -> str:
        value, self.next = self.next, self.next + 1
        return format_request_id(self.supplier, self.target, value)

    def save(self) -> None:
        self.conn.execute(
            "INSERT INTO suppliers (eui, return_counter_next) VALUES (%s, %s) ON CONFLICT (eui) "
            "DO UPDATE SET return_counter_next = excluded.return_counter_next",
            [self.supplier, self.next],
        )


def make(
    conn: psycopg.Connection, supplier_eui: str, actor: str, signer: SigningIdentity
) -> CentralUnload:
    """Make and record the central unload of everything waiting for ``supplier_eui``, its
    manifest signed by the fleet's identity (``manifest.sig``, with ``fleet.pem``) as an
    HHT signs its own."""
    with conn.transaction():
        counter = _Counter(conn, supplier_eui)
        members: dict[str, bytes] = {}
        items: list[dict[str, Any]] = []
        statuses: list[dict[str, Any]] = []
        recorded: list[tuple[str, str, str, str]] = []
        rows = conn.execute(
            f"SELECT * FROM ({WAITING_RESPONSES}) w WHERE supplier_eui = %s "
            "ORDER BY received_at, hht_id, id",
            [supplier_eui],
        ).fetchall()
        for n, r in enumerate(rows, 1):
            request_id = counter.take()
            body = build_return_local_command_response(
                request_id, r["duis_request_id"] or None, bytes(r["raw"])
            )
            name = f"duis/{n:05d}-8.13.xml"
            members[name] = body
            items.append(
                {
                    "file": name,
                    "service_reference_variant": "8.13",
                    "request_id": request_id,
                    "original_request_id": r["duis_request_id"] or None,
                    "hht": r["hht_id"],
                    "job_id": r["job_id"],
                    "command_seq": r["command_seq"],
                    "use_case": r["use_case"],
                    "device": r["device"],
                    "counter": int(r["counter"]) if r["counter"] is not None else None,
                    "outcome": r["outcome"],
                    "received_at": r["received_at"],
                    "may_also_reach_you_by_wan": r["route"] == "wan"
                    or r["command_variant"] in hht_unload.BOTH_ROUTES_VARIANTS,
                    "sha256": sha256_hex(body),
                }
            )
            recorded.append((r["hht_id"], "response", str(r["id"]), request_id))
        status_ids: dict[str, str] = {}  # hub -> the request id of its one status
        superseded: list[dict[str, Any]] = []
        for job in hht_unload.latest_per_hub(_due_hubs(conn, supplier_eui)):
            if job["superseded"]:
                superseded.append(job)
                continue
            request_id = counter.take()
            made = hht_unload.hub_status_body(job, request_id)  # the HHT's own 8.14 builder
            if made is None:
                continue
            variant, body = made
            name = f"duis/hub-{job['hht_id']}-{job['id']}-{variant}.xml"
            members[name] = body
            statuses.append(
                {
                    "file": name,
                    "service_reference_variant": variant,
                    "request_id": request_id,
                    "hht": job["hht_id"],
                    "job_id": job["id"],
                    "hub": job["connected_hub_id"],
                    "mpxn": job["mpxn"],
                    "sha256": sha256_hex(body),
                }
            )
            recorded.append((job["hht_id"], "hub-status", job["id"], request_id))
            status_ids[job["connected_hub_id"]] = request_id
        for job in superseded:  # confirmed with the one status that speaks for its hub
            if job["connected_hub_id"] in status_ids:
                hub_request = status_ids[job["connected_hub_id"]]
                recorded.append((job["hht_id"], "hub-status", job["id"], hub_request))
        if not recorded:
            raise CentralUnloadError(f"nothing is waiting to be unloaded for {supplier_eui}")
        counter.save()
        unload_id = conn.execute(
            "INSERT INTO central_unloads (supplier_eui, created_by, responses, hub_statuses) "
            "VALUES (%s, %s, %s, %s) RETURNING id",
            [supplier_eui, actor, len(items), len(statuses)],
        ).fetchone()["id"]
        manifest = {
            "format": CENTRAL_FORMAT,
            "unload_id": unload_id,
            "supplier": supplier_eui,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "fleet": {"id": signer.terminal_id, "fingerprint": signer.fingerprint},
            "responses": items,
            "hub_statuses": statuses,
        }
        manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
        members[MANIFEST] = manifest_bytes
        members[SIGNATURE] = sign_detached(manifest_bytes, signer.key)
        members[CERTIFICATE] = signer.certificate_pem
        archive = write_archive(members)
        name = f"fleet-unload-{unload_id:05d}-{supplier_eui}.zip"
        conn.execute(
            "UPDATE central_unloads SET file_name = %s, sha256 = %s, data = %s WHERE id = %s",
            [name, sha256_hex(archive), archive, unload_id],
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO central_unload_items (unload_id, hht_id, kind, ref, request_id) "
                "VALUES (%s, %s, %s, %s, %s)",
                [(unload_id, *item) for item in recorded],
            )
    log.info("central unload %d for %s: %d answers", unload_id, supplier_eui, len(items))
    return CentralUnload(unload_id, supplier_eui, archive, len(items), len(statuses))


def check_signature(data: bytes, fingerprint: str | None = None) -> str | None:
    """None when the central unload ``data`` carries a manifest signed by the certificate in
    it (and that certificate is the one with ``fingerprint``, when given); else why not.
    Every member the manifest lists must match its SHA-256 too."""
    try:
        members = read_archive(data, "central unload")
        cert = x509.load_pem_x509_certificate(members[CERTIFICATE])
        manifest_bytes, signature = members[MANIFEST], members[SIGNATURE]
    except (WorkPackError, KeyError, ValueError) as exc:
        return f"not a signed central unload: {exc}"
    if fingerprint and cert.fingerprint(hashes.SHA256()).hex() != fingerprint.lower():
        return "the unload is signed by another certificate than the fleet's"
    if not isinstance(cert.public_key(), ec.EllipticCurvePublicKey):
        return "the fleet's certificate has no ECDSA key"
    problem = verify_detached(manifest_bytes, signature, cert)
    if problem:
        return "the manifest's signature does not verify with the fleet's certificate"
    manifest = json.loads(manifest_bytes)
    for item in manifest.get("responses", []) + manifest.get("hub_statuses", []):
        body = members.get(item["file"])
        if body is None or sha256_hex(body) != item["sha256"]:
            return f"{item['file']} is not the file the signed manifest lists"
    return None


def confirm_received(conn: psycopg.Connection, unload_id: int, actor: str) -> None:
    with conn.transaction():
        row = conn.execute(
            "UPDATE central_unloads SET confirmed_at = now(), confirmed_by = %s "
            "WHERE id = %s AND confirmed_at IS NULL RETURNING id",
            [actor, unload_id],
        ).fetchone()
    if row is None:
        raise CentralUnloadError(f"no unconfirmed central unload {unload_id}")


def to_mark(conn: psycopg.Connection, hht_id: str) -> list[dict[str, Any]]:
    """Central unloads holding answers of ``hht_id`` that the HHT has not marked yet."""
    out: dict[int, dict[str, Any]] = {}
    for row in conn.execute(
        "SELECT ci.unload_id, cu.supplier_eui, ci.kind, ci.ref FROM central_unload_items ci "
        "JOIN central_unloads cu ON cu.id = ci.unload_id "
        "LEFT JOIN responses r ON ci.kind = 'response' AND r.hht_id = ci.hht_id "
        "  AND r.id = ci.ref::bigint "
        "LEFT JOIN jobs j ON ci.kind = 'hub-status' AND j.hht_id = ci.hht_id AND j.id = ci.ref "
        "WHERE ci.hht_id = %s AND ((ci.kind = 'response' AND r.received_unload_id IS NULL) "
        "  OR (ci.kind = 'hub-status' AND j.hub_status_unload_id IS NULL)) "
        "ORDER BY ci.unload_id",
        [hht_id],
    ):
        entry = out.setdefault(
            row["unload_id"],
            {
                "id": row["unload_id"],
                "supplier": row["supplier_eui"],
                "responses": [],
                "hub_statuses": [],
            },
        )
        key = "responses" if row["kind"] == "response" else "hub_statuses"
        entry[key].append(int(row["ref"]) if key == "responses" else row["ref"])
    return list(out.values())


def unloads(conn: psycopg.Connection, limit: int = 50) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT id, supplier_eui, created_at, created_by, file_name, responses, hub_statuses, "
            "confirmed_at, confirmed_by FROM central_unloads ORDER BY id DESC LIMIT %s",
            [limit],
        )
    ]
