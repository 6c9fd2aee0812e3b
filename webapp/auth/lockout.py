"""Failed logins and lock-outs: per name *and* address, so nobody can lock another out.

A login attempt is counted as a failure *before* its secret is checked (so parallel guesses
are counted too) and forgotten again when the secret turns out right. Two limits:

* **per name and address**: failures in a row cost nothing until the
  :data:`FREE_FAILURES`-th, which holds that name on that address for
  :data:`FIRST_DELAY_SECONDS`; every further failure doubles the hold, up to
  :data:`MAX_DELAY_SECONDS`. While held, an attempt is refused unchecked. A right secret from
  that address, a supervisor's unlock or a reset PIN starts it afresh. The same rule applies
  to names nobody has, so the answers never tell a real user from an unknown one.
* **per address, across names**: :data:`MAX_FAILURES_PER_ADDRESS` failures within
  :data:`ADDRESS_WINDOW_SECONDS` hold that address, whatever name it tries next.

The real installer logs in from their own phone (their own address), which an attacker's
failures never hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

FREE_FAILURES = 5
FIRST_DELAY_SECONDS = 30.0
MAX_DELAY_SECONDS = 15 * 60.0
#: A name's failures from an address are forgotten after this long without another.
FAILURE_MEMORY_SECONDS = 24 * 3600.0
ADDRESS_WINDOW_SECONDS = 10 * 60.0
MAX_FAILURES_PER_ADDRESS = 20
RECENT_FAILURES_SHOWN = 20

LOCKED_MESSAGE = (
    "Too many wrong tries for this name from this device. Wait {wait} and try again, "
    "or ask a supervisor to unlock it."
)
ADDRESS_MESSAGE = "Too many failed logins from this device. Wait {wait} and try again."


@dataclass(frozen=True)
class Hold:
    """Why an attempt is refused before its secret is checked, and for how long."""

    message: str
    seconds: float
    per_address: bool  # the address is held for every name, not one name


@dataclass(frozen=True)
class Attempt:
    """An attempt counted as a failure until :func:`forget` says the secret was right."""

    username: str
    address: str
    failure_id: int  # its row in auth_failures (the per-address count)
    failures: int  # failures in a row for this name from this address, this one included
    locked_until: float | None  # the hold this failure sets, if it sets one


def delay_after(failures: int) -> float:
    """The hold after ``failures`` failures in a row (0 while they are free)."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(FIRST_DELAY_SECONDS * 2 ** (failures - FREE_FAILURES), MAX_DELAY_SECONDS)


def wait_text(seconds: float) -> str:
    seconds = max(1, int(seconds + 0.999))
    if seconds < 90:
        return f"{seconds} s"
    return f"{(seconds + 59) // 60} min"


def _row(db: Database, username: str, address: str) -> dict[str, Any] | None:
    rows = list(
        db["login_failures"].rows_where("username = ? AND address = ?", [username, address])
    )
    return rows[0] if rows else None


def _address_hold(db: Database, address: str, now: float) -> Hold | None:
    since = now - ADDRESS_WINDOW_SECONDS
    times = [
        row[0]
        for row in db.execute(
            "SELECT at FROM auth_failures WHERE source = ? AND at > ? ORDER BY at DESC LIMIT ?",
            [address, since, MAX_FAILURES_PER_ADDRESS],
        ).fetchall()
    ]
    if len(times) < MAX_FAILURES_PER_ADDRESS:
        return None
    seconds = times[-1] + ADDRESS_WINDOW_SECONDS - now  # until the oldest of them ages out
    return Hold(ADDRESS_MESSAGE.format(wait=wait_text(seconds)), seconds, per_address=True)


def begin(db: Database, username: str, address: str, now: float) -> Attempt | Hold:
    """Count an attempt as a failure (inside the writer's transaction), or say why not yet."""
    hold = _address_hold(db, address, now)
    if hold is not None:
        return hold
    row = _row(db, username, address)
    if row is not None and row["locked_until"] and row["locked_until"] > now:
        seconds = row["locked_until"] - now
        return Hold(LOCKED_MESSAGE.format(wait=wait_text(seconds)), seconds, per_address=False)
    fresh = row is None or now - row["last_at"] > FAILURE_MEMORY_SECONDS
    failures = 1 if fresh else row["failures"] + 1
    delay = delay_after(failures)
    locked_until = now + delay if delay else None
    db["login_failures"].upsert(
        {
            "username": username,
            "address": address,
            "failures": failures,
            "first_at": now if fresh else row["first_at"],
            "last_at": now,
            "locked_until": locked_until,
        },
        pk=("username", "address"),
    )
    failure_id = db["auth_failures"].insert({"source": address, "at": now}).last_pk
    db.execute("DELETE FROM login_failures WHERE last_at < ?", [now - FAILURE_MEMORY_SECONDS])
    db.execute("DELETE FROM auth_failures WHERE at < ?", [now - ADDRESS_WINDOW_SECONDS])
    return Attempt(username, address, failure_id, failures, locked_until)


def forget(db: Database, attempt: Attempt) -> None:
    """The secret was right: this was no guess, and the name starts afresh on this address."""
    db["login_failures"].delete_where(
        "username = ? AND address = ?", [attempt.username, attempt.address]
    )
    db["auth_failures"].delete_where("id = ?", [attempt.failure_id])


def unlock(db: Database, username: str) -> int:
    """Forget every failure of ``username`` from every address; how many addresses held it."""
    count = db["login_failures"].count_where("username = ?", [username])
    db["login_failures"].delete_where("username = ?", [username])
    return count


def recent_failures(db: Database, now: float) -> list[dict[str, Any]]:
    """The latest names that failed, per address, newest first (the device page)."""
    return [
        {**row, "locked": bool(row["locked_until"] and row["locked_until"] > now)}
        for row in db.query(
            "SELECT * FROM login_failures WHERE last_at > ? ORDER BY last_at DESC LIMIT ?",
            [now - FAILURE_MEMORY_SECONDS, RECENT_FAILURES_SHOWN],
        )
    ]


def current_lockouts(db: Database, now: float) -> list[dict[str, Any]]:
    """Every hold in force: names on an address, then whole addresses (the device page)."""
    held = [
        {**row, "per_address": False}
        for row in db.query(
            "SELECT * FROM login_failures WHERE locked_until > ? ORDER BY locked_until DESC",
            [now],
        )
    ]
    addresses = db.execute(
        "SELECT source, count(*), min(at), max(at) FROM auth_failures WHERE at > ? "
        "GROUP BY source HAVING count(*) >= ?",
        [now - ADDRESS_WINDOW_SECONDS, MAX_FAILURES_PER_ADDRESS],
    ).fetchall()
    for address, count, _first, last in addresses:
        hold = _address_hold(db, address, now)
        if hold is not None:
            held.append(
                {
                    "username": "",
                    "address": address,
                    "failures": count,
                    "last_at": last,
                    "locked_until": now + hold.seconds,
                    "per_address": True,
                }
            )
    return held


def locked_names(db: Database, now: float) -> dict[str, int]:
    """Names held on at least one address, with how many addresses hold them (users page)."""
    return {
        row[0]: row[1]
        for row in db.execute(
            "SELECT username, count(*) FROM login_failures WHERE locked_until > ? "
            "GROUP BY username",
            [now],
        ).fetchall()
    }
