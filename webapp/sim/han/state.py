"""The simulated HAN's own SQLite file: schema, connection, and the lock around it.

The HAN stands for other machines (hubs, meters), so its state lives in its own file under
the state directory and outlives the HHT process.  Every change that belongs together (a
device executing a command, its counter, its log entry and the response it queues) is made
inside one :meth:`HanStore.atomic` block, so a SIGKILL at any moment leaves the file
consistent.  Counters are 8-octet unsigned values, kept as 16 hex digits (SQLite integers
are signed 64-bit).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from webapp.files import create_private, private_dir

log = logging.getLogger(__name__)

DB_FILE = "han.db"
SCHEMA_VERSION = 5
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sites (
    name TEXT PRIMARY KEY,
    idx INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    band TEXT NOT NULL,
    hub_id TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS hubs (
    hub_id TEXT PRIMARY KEY,
    chf_id TEXT NOT NULL,
    site TEXT NOT NULL REFERENCES sites(name),
    role TEXT NOT NULL,
    band TEXT NOT NULL,
    channel INTEGER NOT NULL,
    pan_id INTEGER NOT NULL,
    rssi INTEGER NOT NULL,
    power_on_at REAL NOT NULL,
    boots INTEGER NOT NULL DEFAULT 1,
    channel_868 INTEGER,
    wan_up INTEGER NOT NULL DEFAULT 1,
    window_until REAL,
    opens_without_wan INTEGER NOT NULL DEFAULT 0,
    wan_down_since REAL
);
CREATE TABLE IF NOT EXISTS devices (
    eui TEXT PRIMARY KEY,
    hub_id TEXT NOT NULL REFERENCES hubs(hub_id),
    kind TEXT NOT NULL,
    signing_key BLOB NOT NULL,
    certificate BLOB NOT NULL,
    mac_key BLOB NOT NULL,
    wake_anchor REAL,
    wake_interval REAL,
    awake_until REAL,
    invocation_counter INTEGER NOT NULL DEFAULT 0,
    in_device_log INTEGER NOT NULL DEFAULT 1,
    replaces TEXT,
    menu_pin TEXT,
    menu_failures INTEGER NOT NULL DEFAULT 0,
    menu_locked_until REAL,
    dropped_at REAL
);
CREATE INDEX IF NOT EXISTS devices_hub ON devices(hub_id);
CREATE TABLE IF NOT EXISTS foreign_beacons (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL REFERENCES sites(name),
    channel INTEGER NOT NULL,
    pan_id INTEGER NOT NULL,
    extended_pan_id TEXT NOT NULL,
    rssi INTEGER NOT NULL,
    permit_join INTEGER NOT NULL,
    band TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    device TEXT NOT NULL,
    originator TEXT NOT NULL,
    counter TEXT NOT NULL,
    PRIMARY KEY (device, originator)
);
CREATE TABLE IF NOT EXISTS device_log (
    device TEXT NOT NULL,
    originator TEXT NOT NULL,
    counter TEXT NOT NULL,
    message_code INTEGER NOT NULL,
    executions INTEGER NOT NULL,
    route TEXT NOT NULL,
    executed_at REAL NOT NULL,
    PRIMARY KEY (device, originator, counter, message_code)
);
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hub_id TEXT NOT NULL,
    device TEXT NOT NULL,
    raw BLOB NOT NULL,
    route TEXT NOT NULL,
    received_at REAL NOT NULL,
    due_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_due ON pending(due_at, id);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hub_id TEXT NOT NULL,
    route TEXT NOT NULL,
    device TEXT NOT NULL,
    counter TEXT NOT NULL,
    message_code INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    raw BLOB NOT NULL,
    pending_id INTEGER,
    created_at REAL NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 0,
    first_delivered_at REAL,
    acked_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_hub ON outbox(hub_id, route, acked_at, id);
CREATE TABLE IF NOT EXISTS rejections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hub_id TEXT,
    device TEXT,
    originator TEXT,
    counter TEXT,
    message_code INTEGER,
    route TEXT NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
"""


#: Statements that bring a file of the version before the key up to that version.
_MIGRATIONS: dict[int, list[str]] = {
    2: ["ALTER TABLE hubs ADD COLUMN boots INTEGER NOT NULL DEFAULT 1"],
    3: ["ALTER TABLE hubs ADD COLUMN channel_868 INTEGER"],
    4: [
        "ALTER TABLE hubs ADD COLUMN window_until REAL",
        "ALTER TABLE hubs ADD COLUMN opens_without_wan INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE hubs ADD COLUMN wan_down_since REAL",
        "ALTER TABLE devices ADD COLUMN in_device_log INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE devices ADD COLUMN replaces TEXT",
        "ALTER TABLE devices ADD COLUMN menu_pin TEXT",
        "ALTER TABLE devices ADD COLUMN menu_failures INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE devices ADD COLUMN menu_locked_until REAL",
    ],
    # a gas meter that has dropped off the hub's HAN (NULL: joined to the GPF)
    5: ["ALTER TABLE devices ADD COLUMN dropped_at REAL"],
}


def counter_text(counter: int) -> str:
    return f"{counter:016X}"


def record_rejection(
    store: HanStore,
    hub_id: str,
    device: str | None,
    message: Any,
    route: str,
    reason: str,
    now: float,
) -> None:
    """Note a command the HAN turned away or gave up on, and why (``message`` may be None
    when the bytes did not parse)."""
    store.execute(
        "INSERT INTO rejections (hub_id, device, originator, counter, message_code, route,"
        " reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            hub_id,
            device,
            message.originator_hex if message else None,
            counter_text(message.counter) if message else None,
            message.message_code if message else None,
            route,
            reason,
            now,
        ],
    )


def counter_value(text: str) -> int:
    return int(text, 16)


class HanStore:
    """One connection to the HAN file, shared by threads under a re-entrant lock."""

    def __init__(self, state_dir: Path) -> None:
        state_dir = private_dir(Path(state_dir))
        self.path = create_private(state_dir / DB_FILE)
        conn = sqlite3.connect(
            str(self.path),
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        self.db = Database(conn, execute_plugins=False)
        self.lock = threading.RLock()
        self.db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        with self.atomic():
            self._create_schema()

    def _create_schema(self) -> None:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self.db.execute(statement)
        found = self.get_meta("schema")
        if found is None:
            self.set_meta("schema", str(SCHEMA_VERSION))
            return
        version = int(found)
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path}: schema {version} is newer than {SCHEMA_VERSION}")
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[step]:
                self.db.execute(statement)
            log.info("%s: schema migrated to version %d", self.path, step)
        self.set_meta("schema", str(SCHEMA_VERSION))

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        """One transaction (nested blocks become savepoints), holding the lock."""
        with self.lock, self.db.atomic():
            yield self.db

    def rows(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self.lock:
            cursor = self.db.execute(sql, params)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def row(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> dict[str, Any] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def execute(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """A write; call inside :meth:`atomic` so it commits with what belongs to it."""
        with self.lock:
            return self.db.execute(sql, params)

    def get_meta(self, key: str) -> str | None:
        found = self.row("SELECT value FROM meta WHERE key = ?", [key])
        return None if found is None else found["value"]

    def set_meta(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def close(self) -> None:
        with self.lock:
            self.db.close()
