"""Users, roles and login checks (lock-outs in :mod:`webapp.auth.lockout`).

Every change to a user (added, disabled, enabled, PIN/password reset, lock-outs lifted) is
an event of the terminal in the audit chain, in the change's own transaction, naming the
user and who made the change (a supervisor, or ``hht-cli`` at the terminal's console);
never the secret."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlite_utils import Database

from webapp.auth import lockout, sessions
from webapp.auth.secrets import DUMMY_HASH, check_secret, hash_secret
from webapp.store.audit.append import append_terminal_event
from webapp.store.clock import utc_now

if TYPE_CHECKING:
    from webapp.store.db import Store

log = logging.getLogger(__name__)

INSTALLER = "installer"
SUPERVISOR = "supervisor"
ROLES = (INSTALLER, SUPERVISOR)

MAX_USERNAME_INPUT = 64
WRONG_MESSAGE = "Wrong name or PIN/password."
BLANK_MESSAGE = "Enter your name and PIN/password."

USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
PIN_RE = re.compile(r"^[0-9]{6,8}$")
MIN_PASSWORD_LENGTH = 10

#: Who changed a user when the terminal itself did (demo data, set-up).
TERMINAL_ACTOR = "hht"
#: Who changed a user from the console (``hht user ...``).
CONSOLE_ACTOR = "hht-cli"
USER_ADDED = "user-added"
USER_DISABLED = "user-disabled"
USER_ENABLED = "user-enabled"
USER_SECRET_RESET = "user-secret-reset"
USER_UNLOCKED = "user-unlocked"
#: The audit events of user changes: the company's own business, so a supplier's unload
#: carries them as digests only (``webapp.workpack.unload_chain``).
USER_EVENT_KINDS = frozenset(
    {USER_ADDED, USER_DISABLED, USER_ENABLED, USER_SECRET_RESET, USER_UNLOCKED}
)
ACTOR_WORDS = {TERMINAL_ACTOR: "set-up", CONSOLE_ACTOR: "the console (hht user)"}
#: How many of the newest changes the users page lists.
RECENT_CHANGES = 20


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


def _record_change(db: Database, kind: str, message: str, row: dict, actor: str) -> None:
    append_terminal_event(
        db, kind, message, {"username": row["username"], "role": row["role"]}, actor
    )


def add_user(
    db: Database,
    username: str,
    role: str,
    secret: str,
    display_name: str = "",
    *,
    actor: str = TERMINAL_ACTOR,
) -> User:
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
    row = db["users"].get(pk)
    _record_change(db, USER_ADDED, f"User {username} added ({role})", row, actor)
    return User.from_row(row)


def recent_changes(db: Database, limit: int = RECENT_CHANGES) -> list[dict]:
    """The newest changes to users, newest first, as the audit chain holds them, each with
    ``by``: who made it, in words."""
    marks = ", ".join("?" for _ in USER_EVENT_KINDS)
    rows = db.query(
        f"SELECT seq, at, kind, message, actor FROM job_events "
        f"WHERE job_id IS NULL AND kind IN ({marks}) ORDER BY seq DESC LIMIT ?",
        [*sorted(USER_EVENT_KINDS), limit],
    )
    return [{**row, "by": ACTOR_WORDS.get(row["actor"], row["actor"])} for row in rows]


def find_user(db: Database, username: str) -> dict | None:
    rows = list(db["users"].rows_where("username = ?", [username.strip().lower()]))
    return rows[0] if rows else None


def get_user(db: Database, user_id: int) -> User | None:
    rows = list(db["users"].rows_where("id = ?", [user_id]))
    return User.from_row(rows[0]) if rows else None


def list_users(db: Database) -> list[User]:
    return [User.from_row(r) for r in db["users"].rows_where(order_by="role, username")]


def set_disabled(
    db: Database, username: str, disabled: bool, *, actor: str = TERMINAL_ACTOR
) -> User:
    """Disable (ending every session of theirs) or enable a user."""
    row = find_user(db, username)
    if row is None:
        raise UserError(f"No user {username}.")
    db["users"].update(row["id"], {"disabled": int(disabled)})
    kind, words = (USER_DISABLED, "disabled") if disabled else (USER_ENABLED, "enabled")
    _record_change(db, kind, f"User {row['username']} {words}", row, actor)
    if disabled:
        ended = sessions.end_for_user(db, row["id"])
        log.info("user %r disabled: %d session(s) ended", row["username"], len(ended))
    return User.from_row(db["users"].get(row["id"]))


def reset_secret(db: Database, username: str, secret: str, *, actor: str = TERMINAL_ACTOR) -> User:
    """A new PIN/password: every session of the user ends and their lock-outs are lifted."""
    row = find_user(db, username)
    if row is None:
        raise UserError(f"No user {username}.")
    check_secret_format(row["role"], secret)
    db["users"].update(row["id"], {"secret_hash": hash_secret(secret)})
    what = "PIN" if row["role"] == INSTALLER else "password"
    _record_change(db, USER_SECRET_RESET, f"User {row['username']}: {what} reset", row, actor)
    ended = sessions.end_for_user(db, row["id"])
    lockout.unlock(db, row["username"])
    log.info("user %r: PIN/password reset, %d session(s) ended", row["username"], len(ended))
    return User.from_row(db["users"].get(row["id"]))


def unlock(db: Database, username: str, *, actor: str = TERMINAL_ACTOR) -> User:
    """Lift every lock-out of ``username``, from every address."""
    row = find_user(db, username)
    if row is None:
        raise UserError(f"No user {username}.")
    addresses = lockout.unlock(db, row["username"])
    _record_change(db, USER_UNLOCKED, f"User {row['username']}: lock-outs lifted", row, actor)
    log.info("user %r unlocked: failures from %d address(es) forgotten", row["username"], addresses)
    return User.from_row(row)


def normalise_username(username: str) -> str:
    return username.strip().lower()[:MAX_USERNAME_INPUT]


def login(store: Store, username: str, secret: str, role: str, source: str) -> User:
    """Check a login against ``store``; raise LoginRefused with a message that tells a real
    user from an unknown name no more than the time it takes does.

    Every attempt does the same work whoever it names: one write (counting it as a failure,
    see :mod:`webapp.auth.lockout`), one read of ``users`` and one scrypt check, against
    the user's hash or against :data:`~webapp.auth.secrets.DUMMY_HASH` (same cost) for a
    name nobody has. A right secret is forgotten as a failure even when the login is
    refused (the wrong tab, a disabled user): only a guess counts against the name.
    """
    name = normalise_username(username)
    if not name or not secret:
        raise LoginRefused(BLANK_MESSAGE)
    now = time.time()
    with store.write() as db:
        begun = lockout.begin(db, name, source, now)
        row = find_user(db, name)
    if isinstance(begun, lockout.Hold):
        log.warning(
            "login refused for %r from %s: %s held for %.0f s",
            name,
            source,
            "address" if begun.per_address else "name on this address",
            begun.seconds,
        )
        raise LoginRefused(begun.message)
    right = check_secret(secret, row["secret_hash"] if row is not None else DUMMY_HASH)
    if right and row is not None:
        with store.write() as db:
            lockout.forget(db, begun)
        if row["role"] == role and not row["disabled"]:
            return User.from_row(row)
        log.warning(
            "login refused for %r from %s: right secret, but %s",
            name,
            source,
            "disabled" if row["disabled"] else f"on the {role} tab",
        )
        raise LoginRefused(WRONG_MESSAGE)
    log.warning("login failed for %r from %s (%d in a row)", name, source, begun.failures)
    if begun.locked_until is not None:
        log.warning(
            "login locked for %r from %s for %.0f s after %d failures",
            name,
            source,
            begun.locked_until - now,
            begun.failures,
        )
    raise LoginRefused(WRONG_MESSAGE)
