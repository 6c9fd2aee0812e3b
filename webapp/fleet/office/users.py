"""Fleet supervisors: names and passwords, checked with the HHT's own rules and hashing."""

from __future__ import annotations

import time
from typing import Any

import psycopg

from webapp.auth.secrets import DUMMY_HASH, check_secret, hash_secret
from webapp.auth.users import (
    SUPERVISOR,
    USERNAME_RE,
    WRONG_MESSAGE,
    UserError,
    check_secret_format,
    normalise_username,
)

ROLES = (SUPERVISOR,)
#: Failed logins per name and address before each further try waits.
FREE_FAILURES = 5
FAILURE_DELAY_SECONDS = 60.0


def add(conn: psycopg.Connection, username: str, password: str, display_name: str = "") -> int:
    name = normalise_username(username)
    if not USERNAME_RE.match(name):
        raise UserError(
            "Names are 2-32 lower-case letters, digits, . _ or -, starting with a letter."
        )
    check_secret_format(SUPERVISOR, password)
    with conn.transaction():
        if conn.execute("SELECT 1 FROM users WHERE username = %s", [name]).fetchone():
            raise UserError(f"There is already a user {name}.")
        row = conn.execute(
            "INSERT INTO users (username, display_name, role, secret_hash) "
            "VALUES (%s, %s, %s, %s) RETURNING id",
            [name, display_name or name, SUPERVISOR, hash_secret(password)],
        ).fetchone()
    return int(row["id"])


def get(conn: psycopg.Connection, user_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT id, username, display_name, role, disabled FROM users WHERE id = %s", [user_id]
    ).fetchone()
    return dict(row) if row else None


def login(conn: psycopg.Connection, username: str, password: str, address: str) -> dict[str, Any]:
    """The user, or UserError (the same words whether the name or the password was wrong)."""
    name = normalise_username(username)[:64]
    now = time.time()
    with conn.transaction():
        failed = conn.execute(
            "SELECT failures, last_at FROM login_failures WHERE username = %s AND address = %s",
            [name, address],
        ).fetchone()
        if failed and failed["failures"] >= FREE_FAILURES:
            wait = failed["last_at"] + FAILURE_DELAY_SECONDS - now
            if wait > 0:
                raise UserError(f"Too many failed logins. Wait {int(wait) + 1} s and try again.")
        row = conn.execute(
            "SELECT id, username, display_name, role, disabled, secret_hash FROM users "
            "WHERE username = %s",
            [name],
        ).fetchone()
        ok = check_secret(password, row["secret_hash"] if row else DUMMY_HASH)
        if not ok or row is None or row["disabled"]:
            conn.execute(
                "INSERT INTO login_failures (username, address, failures, last_at) "
                "VALUES (%s, %s, 1, %s) ON CONFLICT (username, address) DO UPDATE SET "
                "failures = login_failures.failures + 1, last_at = excluded.last_at",
                [name, address, now],
            )
            raise UserError(WRONG_MESSAGE)
        conn.execute(
            "DELETE FROM login_failures WHERE username = %s AND address = %s", [name, address]
        )
    return {k: row[k] for k in ("id", "username", "display_name", "role")}
