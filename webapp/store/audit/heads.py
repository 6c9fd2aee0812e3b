"""Recorded heads: where the chain stood when it was checked or unloaded.

A checked head is kept twice outside the events table: a row of ``audit_heads``
(append-only; an unload's row also holds the head's signature by the terminal's identity
key) and the newest in ``<data>/audit/head.json``.  Each carries the keyed head MAC, so a
head cannot be made up without the key.  Verifying compares every recorded head with the
event at its sequence: deleting the newest events, or rewriting history and recomputing the
chain, no longer matches what was recorded.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from webapp.files import write_private
from webapp.store.audit.chain import Head, head_mac
from webapp.store.audit.key import audit_dir

log = logging.getLogger(__name__)

HEAD_FILE = "head.json"
HEAD_FILE_FORMAT = "hht-audit-head/1"


@dataclass(frozen=True)
class RecordedHead:
    """A head recorded by a check or an unload, and where it was found."""

    seq: int
    link: str
    mac: str
    at: str
    reason: str  # migration | start-up | verify | unload
    where: str  # in plain words, for reports
    unload_id: int | None = None

    def genuine(self, key: bytes) -> bool:
        return Head(self.seq, self.link, self.mac).genuine(key)


def head_file_path(data_dir: Path) -> Path:
    return audit_dir(data_dir) / HEAD_FILE


def write_head_file(data_dir: Path, head: RecordedHead) -> None:
    """Keep ``head`` as the newest recorded head (call after its transaction committed)."""
    body = {
        "format": HEAD_FILE_FORMAT,
        "seq": head.seq,
        "link": head.link,
        "mac": head.mac,
        "at": head.at,
        "reason": head.reason,
    }
    write_private(head_file_path(data_dir), json.dumps(body, sort_keys=True).encode())


class HeadFileError(ValueError):
    """The head file is there but does not read as a head."""


def read_head_file(data_dir: Path) -> RecordedHead | None:
    """The head file's head; None when there is no file; HeadFileError when unreadable."""
    path = head_file_path(data_dir)
    try:
        body = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise HeadFileError(f"{path} does not read as a head: {exc}") from exc
    try:
        if body["format"] != HEAD_FILE_FORMAT:
            raise HeadFileError(f"{path} is not a {HEAD_FILE_FORMAT} file")
        return RecordedHead(
            int(body["seq"]),
            str(body["link"]),
            str(body["mac"]),
            str(body["at"]),
            str(body["reason"]),
            "the head file",
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise HeadFileError(f"{path} lacks a field of a head: {exc}") from exc


def record_checkpoint(
    db: Database,
    key: bytes,
    head: tuple[int, str],
    reason: str,
    at: str,
    *,
    unload_id: int | None = None,
    signature: str | None = None,
) -> RecordedHead:
    """Record ``head`` (the sequence and link of a checked or unloaded event) in
    ``audit_heads``, with its keyed MAC, unless a check recorded it last already."""
    seq, link = head
    mac = head_mac(key, seq, link)
    if unload_id is None:  # a check that found the chain where the last one did adds nothing
        latest = db.execute(
            "SELECT id, seq, link, at, reason FROM audit_heads ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if latest is not None and (latest[1], latest[2]) == (seq, link):
            return RecordedHead(seq, link, mac, latest[3], latest[4], f"recorded head {latest[0]}")
    row_id = db.execute(
        "INSERT INTO audit_heads (seq, link, mac, at, reason, unload_id, signature) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [seq, link, mac, at, reason, unload_id, signature],
    ).lastrowid
    return RecordedHead(seq, link, mac, at, reason, f"recorded head {row_id}", unload_id)


def recorded_heads(db: Database) -> list[RecordedHead]:
    """Every head in ``audit_heads``, oldest sequence first."""
    return [
        RecordedHead(
            int(r[1]),
            str(r[2]),
            str(r[3]),
            str(r[4]),
            str(r[5]),
            f"recorded head {r[0]} ({r[5]}, {r[4]})",
            r[6],
        )
        for r in db.execute(
            "SELECT id, seq, link, mac, at, reason, unload_id FROM audit_heads ORDER BY seq, id"
        ).fetchall()
    ]


def head_row_dict(head: RecordedHead) -> dict[str, Any]:
    return {"seq": head.seq, "link": head.link, "at": head.at, "reason": head.reason}
