"""Session records: what a session cookie stands for, kept on the terminal.

The cookie holds a random 256-bit token and nothing else. The ``sessions`` table keys each
record by the token's SHA-256, so a copy of the database (a backup) opens no session.
A session lives until it has been idle for :data:`IDLE_SECONDS` or has existed for
:data:`ABSOLUTE_SECONDS`, whichever comes first, or until it is ended: by logging out (that
session), or by a supervisor resetting the user's PIN/password or disabling the user (all
of that user's sessions, in :mod:`webapp.auth.users`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

TOKEN_BYTES = 32  # 256 bits
MAX_TOKEN_LENGTH = 64  # a longer cookie is not one of ours: not even looked up
IDLE_SECONDS = 4 * 3600.0  # half a working day without a request
ABSOLUTE_SECONDS = 12 * 3600.0  # a working day, however busy
#: Not logged in yet (a login form's CSRF token): short-lived, and only so many kept.
ANONYMOUS_IDLE_SECONDS = 3600.0
MAX_ANONYMOUS_SESSIONS = 500
#: ``last_seen`` is written at most this often per session (an SD card's writes are dear).
TOUCH_INTERVAL_SECONDS = 60.0
AGENT_SUMMARY_LENGTH = 80

# what the record's own columns hold; the rest of the session goes into ``data``
USER_KEY = "user_id"
ROLE_KEY = "role"
CSRF_KEY = "csrf"


@dataclass(frozen=True)
class SessionRecord:
    key: str  # SHA-256 hex of the token
    user_id: int | None
    role: str | None
    created: float
    last_seen: float
    address: str
    agent: str
    data: dict[str, Any]  # the whole session as the app sees it

    def expired(self, now: float) -> bool:
        idle = IDLE_SECONDS if self.user_id is not None else ANONYMOUS_IDLE_SECONDS
        return now - self.last_seen > idle or now - self.created > ABSOLUTE_SECONDS

    @property
    def expires_at(self) -> float:
        """When the session ends however busy it is (the cookie's expiry)."""
        return self.created + ABSOLUTE_SECONDS


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def key_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def record_from_row(row: dict[str, Any]) -> SessionRecord:
    """A ``sessions`` row (the terminal's or the fleet office's) as a record; data that is
    not a JSON object reads as empty."""
    try:
        data = json.loads(row["data"] or "{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return SessionRecord(
        key=row["id"],
        user_id=row["user_id"],
        role=row["role"],
        created=row["created"],
        last_seen=row["last_seen"],
        address=row["address"] or "",
        agent=row["agent"] or "",
        data=data,
    )


_COLUMNS = ("id", "user_id", "role", "created", "last_seen", "address", "agent", "data")


def load(db: Database, key: str, now: float) -> SessionRecord | None:
    """The live record for ``key``: None if there is none, it has expired, or its user is
    gone, disabled or no longer has the role the session was opened for."""
    selected = ", ".join(f"s.{column}" for column in _COLUMNS)
    row = db.execute(
        f"SELECT {selected}, u.disabled, u.role FROM sessions s "
        "LEFT JOIN users u ON u.id = s.user_id WHERE s.id = ?",
        [key],
    ).fetchone()
    if row is None:
        return None
    record = record_from_row(dict(zip(_COLUMNS, row[: len(_COLUMNS)], strict=True)))
    user_disabled, user_role = row[len(_COLUMNS) :]
    if record.expired(now):
        return None
    if record.user_id is not None and (user_role is None or user_disabled):
        return None  # the user is gone or disabled (ending their sessions raced this)
    if record.user_id is not None and user_role != record.role:
        return None
    return record


def load_token(db: Database, token: str, now: float) -> SessionRecord | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return load(db, key_of(token), now)


def _data_json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def create(
    db: Database, data: dict[str, Any], address: str, agent: str, now: float
) -> tuple[str, SessionRecord]:
    """A new session holding ``data``: its token (for the cookie) and its record."""
    prune(db, now)
    token = new_token()
    record = SessionRecord(
        key=key_of(token),
        user_id=data.get(USER_KEY),
        role=data.get(ROLE_KEY),
        created=now,
        last_seen=now,
        address=address[:64],
        agent=agent[:AGENT_SUMMARY_LENGTH],
        data=dict(data),
    )
    db["sessions"].insert(
        {
            "id": record.key,
            "user_id": record.user_id,
            "role": record.role,
            "created": now,
            "last_seen": now,
            "address": record.address,
            "agent": record.agent,
            "csrf": data.get(CSRF_KEY),
            "data": _data_json(data),
        }
    )
    return token, record


def save(db: Database, key: str, data: dict[str, Any], now: float) -> bool:
    """Store a live session's changed data; False if it was ended meanwhile (not revived)."""
    cursor = db.execute(
        "UPDATE sessions SET data = ?, csrf = ?, last_seen = ? WHERE id = ?",
        [_data_json(data), data.get(CSRF_KEY), now, key],
    )
    return cursor.rowcount > 0


def touch(db: Database, key: str, now: float) -> None:
    db.execute("UPDATE sessions SET last_seen = ? WHERE id = ?", [now, key])


def end(db: Database, key: str) -> int:
    return db.execute("DELETE FROM sessions WHERE id = ?", [key]).rowcount


def end_for_user(db: Database, user_id: int) -> list[str]:
    """End every session of ``user_id``; the keys that were ended."""
    keys = [r[0] for r in db.execute("SELECT id FROM sessions WHERE user_id = ?", [user_id])]
    db.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])
    return keys


def prune(db: Database, now: float) -> None:
    """Forget expired sessions, and the oldest anonymous ones beyond the cap."""
    db.execute(
        "DELETE FROM sessions WHERE created < ? OR last_seen < ? "
        "OR (user_id IS NULL AND last_seen < ?)",
        [now - ABSOLUTE_SECONDS, now - IDLE_SECONDS, now - ANONYMOUS_IDLE_SECONDS],
    )
    db.execute(
        "DELETE FROM sessions WHERE user_id IS NULL AND id NOT IN "
        "(SELECT id FROM sessions WHERE user_id IS NULL ORDER BY last_seen DESC LIMIT ?)",
        [MAX_ANONYMOUS_SESSIONS - 1],
    )


def live_sessions(db: Database, now: float) -> list[dict[str, Any]]:
    """Logged-in sessions that are still live, newest activity first (the device page)."""
    rows = db.query(
        "SELECT s.user_id, s.role, s.created, s.last_seen, s.address, s.agent, u.username "
        "FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.last_seen >= ? AND s.created >= ? AND NOT u.disabled "
        "ORDER BY s.last_seen DESC",
        [now - IDLE_SECONDS, now - ABSOLUTE_SECONDS],
    )
    return list(rows)
