"""The audit chain in an unload: a signed head and what the back office needs to check it.

Every unload carries, under ``manifest.json``'s ``audit``:

* ``head``: where the terminal's chain stood (sequence number and link) when the unload was
  made, with the terminal's id, the unload and the supplier, and ``head_signature``:
  ECDSA-SHA256 by the terminal's identity key over the head's canonical JSON (sorted keys,
  no spaces, ASCII), base64 of DER as in ``manifest.sig``.  It verifies with
  ``terminal.pem`` alone, so the back office can keep the head as evidence apart from the
  unload;
* ``since``: the head of this supplier's last unload the back office confirmed receiving
  (sequence 0 and the zero link before the first), which it holds already;
* ``audit/chain.jsonl``: one line per event from ``since`` to ``head`` (``seq``, ``prev``,
  ``digest``, ``link``), so the back office recomputes every link from its last head to the
  signed one (``link = SHA-256(prev || digest)``), and the event's ``record`` (the canonical
  JSON every column of the row) for the unloaded jobs' events and the terminal's own
  (``digest = SHA-256(record)``), earlier ones of those jobs included.  Other suppliers'
  events, and the terminal's record of changes to its users (the company's business), appear
  only as digests;
* ``terminal_check``: what the terminal's own keyed check finds now (intact, or the first
  break).

The back office cannot check the keyed MACs (the key never leaves the terminal) and need
not: the links tie every unloaded record to a head the terminal signed, and a head it
signed before ties the history to what it received then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from webapp.auth.users import USER_EVENT_KINDS
from webapp.identity import SigningIdentity
from webapp.store.audit.chain import GENESIS, RECORD_COLUMNS, digest_of, last_event, record_text
from webapp.store.audit.heads import RecordedHead, record_checkpoint
from webapp.store.audit.key import key_for
from webapp.store.audit.state import last_check
from webapp.store.audit.verify import verify_since
from webapp.workpack.trust import sha256_hex, sign_detached

AUDIT_FORMAT = "hht-unload-audit/1"
HEAD_FORMAT = "hht-unload-head/1"
CHAIN_MEMBER = "audit/chain.jsonl"
UNLOAD = "unload"
_COLUMNS = ", ".join((*RECORD_COLUMNS, "prev_hash", "hash"))
_WIDTH = len(RECORD_COLUMNS)
_KIND = RECORD_COLUMNS.index("kind")


def canonical(value: dict[str, Any]) -> bytes:
    """The bytes a head's signature covers: sorted keys, no spaces, ASCII."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True)
class UnloadAudit:
    manifest: dict[str, Any]  # manifest.json's "audit"
    members: dict[str, bytes]  # files added to the zip
    recorded: RecordedHead  # for the head file, once the unload is committed
    intact: bool  # what the terminal's check found


def _since(db: Database, supplier_eui: str) -> dict[str, Any]:
    """The head of the supplier's newest confirmed unload (the back office has it)."""
    row = db.execute(
        """SELECT h.seq, h.link, h.unload_id, h.signature FROM audit_heads h
           JOIN unloads u ON u.id = h.unload_id
           WHERE h.reason = ? AND u.supplier_eui = ? AND u.confirmed_at IS NOT NULL
           ORDER BY h.seq DESC LIMIT 1""",
        [UNLOAD, supplier_eui],
    ).fetchone()
    if row is None:
        return {"seq": 0, "link": GENESIS, "unload_id": None, "head_signature": None}
    return {"seq": row[0], "link": row[1], "unload_id": row[2], "head_signature": row[3]}


def _line(row: tuple[Any, ...], with_record: bool) -> bytes:
    record = record_text(row[:_WIDTH])
    line: dict[str, Any] = {
        "seq": row[1],
        "prev": row[_WIDTH],
        "digest": digest_of(record).hex() if record is not None else None,
        "link": row[_WIDTH + 1],
    }
    if with_record:
        line["record"] = record
    return json.dumps(line, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def _chain_lines(db: Database, since_seq: int, head_seq: int, job_ids: set[str]) -> list[bytes]:
    """The unloaded jobs' events before ``since_seq``, then every event after it."""
    lines: list[bytes] = []
    if job_ids:
        marks = ", ".join("?" for _ in job_ids)
        lines += [
            _line(row, True)
            for row in db.execute(
                f"SELECT {_COLUMNS} FROM job_events WHERE job_id IN ({marks}) AND seq <= ? "
                "ORDER BY seq",
                [*sorted(job_ids), since_seq],
            )
        ]
    lines += [
        _line(row, row[2] in job_ids or (row[2] is None and row[_KIND] not in USER_EVENT_KINDS))
        for row in db.execute(
            f"SELECT {_COLUMNS} FROM job_events WHERE seq > ? AND seq <= ? ORDER BY seq",
            [since_seq, head_seq],
        )
    ]
    return lines


def audit_for_unload(
    db: Database,
    data_dir: Path,
    terminal: SigningIdentity,
    *,
    supplier_eui: str,
    unload_id: int,
    job_ids: set[str],
    at: str,
) -> UnloadAudit:
    """The unload's audit part, its head recorded (in the unload's transaction)."""
    key = key_for(db)
    recorded_check = last_check(db)
    check = verify_since(db, key, data_dir, recorded_check.since)
    newest = last_event(db)
    head_seq, head_link = newest if newest is not None else (0, GENESIS)
    since = _since(db, supplier_eui)
    payload = {
        "format": HEAD_FORMAT,
        "terminal": terminal.terminal_id,
        "fingerprint": terminal.fingerprint,
        "seq": head_seq,
        "link": head_link,
        "at": at,
        "unload_id": unload_id,
        "supplier": supplier_eui,
    }
    signature = sign_detached(canonical(payload), terminal.key).decode().strip()
    chain = b"".join(_chain_lines(db, since["seq"], head_seq, job_ids))
    broken = check.broken or recorded_check.broken  # a full walk's break stays until cleared
    manifest = {
        "format": AUDIT_FORMAT,
        "head": payload,
        "head_signature": signature,
        "since": since,
        "events_file": CHAIN_MEMBER,
        "events_sha256": sha256_hex(chain),
        "jobs": sorted(job_ids),
        "terminal_check": {
            "intact": broken is None,
            "broken": broken.to_dict() if broken else None,
        },
    }
    recorded = record_checkpoint(
        db, key, (head_seq, head_link), UNLOAD, at, unload_id=unload_id, signature=signature
    )
    return UnloadAudit(manifest, {CHAIN_MEMBER: chain}, recorded, broken is None)
