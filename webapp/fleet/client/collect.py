"""What goes to the fleet, read from the HHT's database (a reader connection: the writer is
never taken, so collecting never holds up a job).

* **events**: the event log in sequence order, each with its chain columns, so the fleet
  recomputes every link (``webapp.store.audit.chain``);
* **jobs**: one snapshot per job (the job, its service requests, commands and responses
  with their raw GBCS), with a digest: a job goes again only when its digest differs from
  the one the fleet holds;
* **loose**: responses that belong to no job (alerts), by id;
* **registers**: the no-WAN register, the HHT's unloads and what they carried, its users
  (names, roles and when each last used the HHT, never a secret) and its suppliers, with
  one digest;
* **health**: time quality, free space, certificate expiry, radio.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from webapp.fleet.protocol import b64, encode
from webapp.identity import SigningIdentity
from webapp.store.audit.chain import GENESIS, RECORD_COLUMNS, last_event
from webapp.store.clock import utc_now

_EVENT_COLUMNS = ", ".join((*RECORD_COLUMNS, "prev_hash", "hash"))
_JOB_COLUMNS = (
    "id, site, address, mpxn, supplier_eui, appointment, status, status_message, pause_reason, "
    "expected_hub_id, connected_hub_id, created_at, started_at, finished_at, abort_reason, "
    "abort_note, hub_install, hub_status_unload_id"
)
_SR_COLUMNS = (
    "id, job_id, seq, service_reference, service_reference_variant, use_case, title, "
    "duis_request_id, command_variant, state"
)
_COMMAND_COLUMNS = (
    "id, job_id, service_request_id, seq, raw, counter, message_code, use_case, originator, "
    "recipient, device_role, state, attempts, outcome, outcome_reason, last_error, sent_at, "
    "answered_at, duis_request_id"
)
_RESPONSE_COLUMNS = (
    "id, command_id, job_id, raw, sha256, kind, counter, message_code, originator, recipient, "
    "outcome, outcome_reason, signature, route, received_at, duplicate_of, received_unload_id"
)


def _rows(db: Database, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    out = []
    for row in db.query(sql, params or []):
        item = dict(row)
        if "raw" in item:
            item["raw"] = b64(item["raw"])
        out.append(item)
    return out


def digest(value: Any) -> str:
    return hashlib.sha256(encode(value)).hexdigest()


def head(db: Database) -> tuple[int, str]:
    """The newest event's sequence and link (0 and the zero link before the first)."""
    newest = last_event(db)
    return newest if newest is not None else (0, GENESIS)


def events_after(db: Database, seq: int, limit: int) -> list[dict[str, Any]]:
    return _rows(
        db,
        f"SELECT {_EVENT_COLUMNS} FROM job_events WHERE seq > ? ORDER BY seq LIMIT ?",
        [seq, limit],
    )


def event_at(db: Database, seq: int) -> dict[str, Any] | None:
    rows = _rows(db, f"SELECT {_EVENT_COLUMNS} FROM job_events WHERE seq = ?", [seq])
    return rows[0] if rows else None


def job_snapshot(db: Database, job_id: str) -> dict[str, Any]:
    """A job and everything it holds, as the fleet stores it."""
    job = _rows(db, f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", [job_id])[0]
    extra = db.execute(
        "SELECT u.username, w.pack_id FROM jobs j LEFT JOIN users u ON u.id = j.assignee_id "
        "LEFT JOIN work_packs w ON w.id = j.work_pack_id WHERE j.id = ?",
        [job_id],
    ).fetchone()
    job["installer"], job["work_pack"] = extra[0], extra[1]
    snapshot = {
        "job": job,
        "service_requests": _rows(
            db, f"SELECT {_SR_COLUMNS} FROM service_requests WHERE job_id = ? ORDER BY id", [job_id]
        ),
        "commands": _rows(
            db, f"SELECT {_COMMAND_COLUMNS} FROM commands WHERE job_id = ? ORDER BY id", [job_id]
        ),
        "responses": _rows(
            db, f"SELECT {_RESPONSE_COLUMNS} FROM responses WHERE job_id = ? ORDER BY id", [job_id]
        ),
    }
    return {**snapshot, "digest": digest(snapshot)}


def job_digests(db: Database) -> dict[str, str]:
    """Every job's digest, as :func:`job_snapshot` computes it."""
    return {row[0]: job_snapshot(db, row[0])["digest"] for row in db.execute("SELECT id FROM jobs")}


def loose_after(db: Database, response_id: int, limit: int) -> list[dict[str, Any]]:
    return _rows(
        db,
        f"SELECT {_RESPONSE_COLUMNS} FROM responses WHERE job_id IS NULL AND id > ? "
        "ORDER BY id LIMIT ?",
        [response_id, limit],
    )


def registers(db: Database) -> dict[str, Any]:
    content = {
        "no_wan": _rows(
            db, "SELECT mpxn, site, reported_at, note, source FROM no_wan_register ORDER BY mpxn"
        ),
        "unloads": _rows(
            db,
            "SELECT id, supplier_eui, created_at, created_by, file_name, sha256, responses, "
            "hub_statuses, confirmed_at, confirmed_by FROM unloads ORDER BY id",
        ),
        "unload_items": _rows(
            db, "SELECT unload_id, kind, ref, request_id FROM unload_items ORDER BY unload_id"
        ),
        "users": _rows(
            db,
            "SELECT u.username, u.display_name, u.role, u.disabled, "
            "(SELECT max(s.last_seen) FROM sessions s WHERE s.user_id = u.id) AS last_seen "
            "FROM users u ORDER BY u.username",
        ),
        "suppliers": _rows(
            db,
            "SELECT eui, name, certificate_pem, dcc_eui, return_counter_next FROM suppliers "
            "ORDER BY eui",
        ),
    }
    return {**content, "digest": digest(content)}


def health(
    db: Database, data_dir: Path, terminal: SigningIdentity, radio: dict[str, Any] | None
) -> dict[str, Any]:
    """How the terminal is: its clock, its disk, its certificate, its radio."""
    newest = db.execute(
        "SELECT time_source, time_uncertainty_s, time_offset_s, at FROM job_events "
        "ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    usage = shutil.disk_usage(data_dir)
    return {
        "hht_clock": utc_now(),
        "time_source": newest[0] if newest else None,
        "time_uncertainty_s": newest[1] if newest else None,
        "time_offset_s": newest[2] if newest else None,
        "free_bytes": usage.free,
        "total_bytes": usage.total,
        "certificate_not_after": terminal.certificate.not_valid_after_utc.isoformat(),
        "radio": radio or {"state": "not running (sync from the command line)"},
    }
