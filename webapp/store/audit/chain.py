"""Records, links and MACs: how one event joins the chain, and the head row.

* **record**: the canonical JSON array of every column of the event row, in
  :data:`RECORD_COLUMNS` order (ASCII only, no spaces), so its bytes are the same wherever
  it is computed;
* **digest**: SHA-256 of the record;
* **link** (the row's ``hash``): SHA-256 of the previous event's link (32 zero bytes before
  the first) followed by the digest; the row's ``prev_hash`` is that previous link;
* **MAC** (the row's ``mac``): HMAC-SHA256 under the terminal's audit key of
  ``EVENT_LABEL`` and the link.

The link can be recomputed by anyone who has the records (the back office, from an
unload); the MAC only with the key.  The head row (``audit_head``) holds the newest event's
sequence and link with a MAC of its own (``HEAD_LABEL``), so an event's MAC cannot stand in
for a head and deleting the newest events is found.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

GENESIS = "0" * 64
RECORD_COLUMNS = (
    "id",
    "seq",
    "job_id",
    "at",
    "kind",
    "message",
    "data",
    "actor",
    "time_source",
    "time_uncertainty_s",
    "time_offset_s",
)
INTEGER_COLUMNS = frozenset({"id", "seq"})
REAL_COLUMNS = frozenset({"time_uncertainty_s", "time_offset_s"})
#: What the chain stores beside each record.
CHAIN_COLUMNS = ("prev_hash", "hash", "mac")
EVENT_LABEL = b"hht-audit-event/1"
HEAD_LABEL = b"hht-audit-head/1"
HEAD_ROW_ID = 1
#: The record's JSON: ASCII only, no spaces (one encoder, made once: records are hot).
RECORD_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))
SEQ_BYTES = 8


def normalise(row: dict[str, Any]) -> dict[str, Any]:
    """``row``'s record columns as SQLite gives them back: text as str, reals as float
    (NaN, which SQLite stores as NULL, as None), ids as int."""
    out: dict[str, Any] = {}
    for column in RECORD_COLUMNS:
        value = row.get(column)
        if value is None:
            out[column] = None
        elif column in INTEGER_COLUMNS:
            out[column] = int(value)
        elif column in REAL_COLUMNS:
            number = float(value)
            out[column] = None if math.isnan(number) else number
        else:
            out[column] = str(value)
    return out


def record_text(values: tuple[Any, ...] | list[Any]) -> str | None:
    """The canonical record of the row whose record columns are ``values``; None when they
    cannot be a record (a value of the wrong kind put there by hand)."""
    try:
        return RECORD_ENCODER.encode(list(values))
    except (TypeError, ValueError):
        return None


def record_of(row: dict[str, Any]) -> str:
    text = record_text([row[column] for column in RECORD_COLUMNS])
    assert text is not None  # normalised rows always encode
    return text


def digest_of(record: str) -> bytes:
    return hashlib.sha256(record.encode("ascii")).digest()


def link_of(prev_link: str, digest: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_link) + digest).hexdigest()


def event_mac(key: bytes, link: str) -> str:
    return hmac.digest(key, EVENT_LABEL + bytes.fromhex(link), "sha256").hex()


def head_mac(key: bytes, seq: int, link: str) -> str:
    material = HEAD_LABEL + seq.to_bytes(SEQ_BYTES, "big") + bytes.fromhex(link)
    return hmac.digest(key, material, "sha256").hex()


def seal(row: dict[str, Any], prev_link: str, key: bytes) -> dict[str, Any]:
    """``row`` (normalised) with its ``prev_hash``, ``hash`` (link) and ``mac`` set."""
    link = link_of(prev_link, digest_of(record_of(row)))
    return {**row, "prev_hash": prev_link, "hash": link, "mac": event_mac(key, link)}


@dataclass(frozen=True)
class Head:
    """The newest event as the head row records it."""

    seq: int
    link: str
    mac: str

    def genuine(self, key: bytes) -> bool:
        return hmac.compare_digest(self.mac, head_mac(key, self.seq, self.link))


def read_head(db: Database) -> Head | None:
    row = db.execute("SELECT seq, link, mac FROM audit_head WHERE id = ?", [HEAD_ROW_ID]).fetchone()
    if row is None or row[0] is None:
        return None
    return Head(int(row[0]), str(row[1]), str(row[2]))


def write_head(db: Database, key: bytes, seq: int, link: str) -> Head:
    head = Head(seq, link, head_mac(key, seq, link))
    db.execute(
        "INSERT INTO audit_head (id, seq, link, mac) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, link = excluded.link, "
        "mac = excluded.mac",
        [HEAD_ROW_ID, head.seq, head.link, head.mac],
    )
    return head


def last_event(db: Database) -> tuple[int, str] | None:
    """The sequence and link of the event with the highest sequence, if any."""
    row = db.execute("SELECT seq, hash FROM job_events ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None or row[0] is None else (int(row[0]), str(row[1]))
