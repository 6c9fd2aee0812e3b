"""Users, roles and login checks with rate limiting and lock-out."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from sqlite_utils import Database

from webapp.auth.secrets import check_secret, hash_secret
from webapp.store.clock import utc_now

INSTALLER = "installer"
SUPERVISOR = "supervisor"
ROLES = (INSTALLER, SUPERVISOR)

MAX_FAILED_ATTEMPTS = 5
LOCKOUT_SECONDS = 15 * 60
SOURCE_WINDOW_SECONDS = 10 * 60
MAX_FAILURES_PER_SOURCE = 20

USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
PIN_RE = re.compile(r"^[0-9]{6,8}$")
MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    """A user-management request that cannot be carried out, with the reason."""


class LoginRefused(Exception):
    """Login failed; ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    disabled: bool

    @classmethod
    def from_row(cls, row: dict) -> User:
        return cls(
            id=row["id"],
            username=row["username"],
            display_name=row["display_name"] or row["username"],
            role=row["role"],
            disabled=bool(row["disabled"]),
        )


def check_secret_format(role: str, secret: str) -> None:
    if role == INSTALLER:
        if not PIN_RE.match(secret):
            raise UserError("An installer PIN is 6 to 8 digits.")
    elif len(secret) < MIN_PASSWORD_LENGTH:
        raise UserError(f"A supervisor password has at least {MIN_PASSWORD_LENGTH} characters.")


def add_user(db: Database, username: str, role: str, secret: str, display_name: str = "") -> User:
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise UserError(
            "A username is 2 to 32 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter."
        )
    if role not in ROLES:
        raise UserError(f"Role must be one of {', '.join(ROLES)}.")
    check_secret_format(role, secret)
    if db["users"].count_where("username = ?", [username]):
        raise UserError(f"User {username} already exists.")
    pk = (
        db["users"]
        .insert(
            {
                "username": username,
                "display_name": display_name.strip() or username,
                "role": role,
                "secret_hash": hash_secret(secret),
                "disabled": 0,
                "failed_attempts": 0,
                "locked_until": None,
                "created_at": utc_now(),
            }
        )
        .last_pk
    )
    return User.from_row(db["users"].get(pk))


def find_user(db: Database, username: str) -> dict | None:
    rows = list(db["users"].rows_where("username = ?", [username.strip().lower()]))
    return rows[0] if rows else None


def get_user(db: Database, user_id: int) -> User | None:
    rows = list(db["users"].rows_where("id = ?", [user_id]))
    return User.from_row(rows[0]) if rows else None


def list_users(db: Database) -> list[User]:
    return [User.from_row(r) for r in db["users"].rows_where(order_by="role, username")]


def set_disabled(db: Database, username: str, disabled: bool) -> User:
    row = find_user(db, username)
    if row is None:
        raise UserError(f"No user {username}.")
    db["users"].update(row["id"], {"disabled": int(disabled)})
    return User.from_row(db["users"].get(row["id"]))


def reset_secret(db: Database, username: str, secret: str) -> User:
    row = find_user(db, username)
    if row is None:
        raise UserError(f"No user {username}.")
    check_secret_format(row["role"], secret)
    db["users"].update(
        row["id"],
        {"secret_hash": hash_secret(secret), "failed_attempts": 0, "locked_until": None},
    )
    return User.from_row(db["users"].get(row["id"]))


def authenticate(db: Database, username: str, secret: str, role: str, source: str) -> User:
    """Check a login; raise LoginRefused with a message that reveals nothing useful.

    Failures are recorded through ``db`` before the exception is raised, so call
    this with the writer outside a transaction that the exception would roll back
    (use :func:`login` with a :class:`~webapp.store.db.Store`).
    """
    now = time.time()
    recent = db["auth_failures"].count_where(
        "source = ? AND at > ?", [source, now - SOURCE_WINDOW_SECONDS]
    )
    if recent >= MAX_FAILURES_PER_SOURCE:
        raise LoginRefused("Too many failed logins from this device. Wait 10 minutes.")
    row = find_user(db, username)
    if row is not None and row["locked_until"] and row["locked_until"] > now:
        minutes = int((row["locked_until"] - now) // 60) + 1
        raise LoginRefused(f"This account is locked after failed logins. Try in {minutes} min.")
    ok = (
        row is not None
        and row["role"] == role
        and not row["disabled"]
        and check_secret(secret, row["secret_hash"])
    )
    if not ok:
        db["auth_failures"].insert({"source": source, "at": now})
        if row is not None:
            failed = (row["failed_attempts"] or 0) + 1
            update: dict = {"failed_attempts": failed}
            if failed >= MAX_FAILED_ATTEMPTS:
                update = {"failed_attempts": 0, "locked_until": now + LOCKOUT_SECONDS}
            db["users"].update(row["id"], update)
        raise LoginRefused("Wrong name or PIN/password.")
    db["users"].update(row["id"], {"failed_attempts": 0, "locked_until": None})
    return User.from_row(row)


def login(store, username: str, secret: str, role: str, source: str) -> User:  # type: ignore[no-untyped-def]
    """Check a login against ``store``, committing the failure count before refusing."""
    refused: LoginRefused | None = None
    with store.write() as db:
        try:
            user = authenticate(db, username, secret, role, source)
        except LoginRefused as exc:
            refused = exc
    if refused is not None:
        raise refused
    return user
