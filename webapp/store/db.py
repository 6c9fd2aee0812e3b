"""Opening the HHT's SQLite database safely.

Every connection gets WAL, ``synchronous=FULL`` and foreign keys.  At start-up
the file is checked with ``PRAGMA quick_check``; a corrupt file is moved aside
(never silently replaced) and the problem is reported loudly.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from webapp.store.schema import MIGRATIONS

log = logging.getLogger(__name__)

DB_FILENAME = "hht.sqlite"
BUSY_TIMEOUT_SECONDS = 10.0


class StorageFullError(RuntimeError):
    """The disk (an SD card) is full: the transaction was rolled back, nothing half-written."""


def _is_full(exc: sqlite3.OperationalError) -> bool:
    return "full" in str(exc).lower()


class CorruptDatabaseError(RuntimeError):
    """The database failed its integrity check and was moved aside."""

    def __init__(self, path: Path, moved_to: Path, detail: str) -> None:
        self.path = path
        self.moved_to = moved_to
        self.detail = detail
        super().__init__(
            f"DATABASE CORRUPT: {path} failed its integrity check ({detail}). "
            f"It was moved to {moved_to}; nothing was deleted. Restore a backup "
            f"(hht restore) or start empty with hht init."
        )


def connect(path: Path) -> sqlite_utils.Database:
    """A connection with the pragmas every HHT connection needs."""
    conn = sqlite3.connect(
        str(path),
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,
        check_same_thread=False,
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
    # no sqlite-utils plugins: nothing installed beside the HHT runs code on its connections
    return sqlite_utils.Database(conn, execute_plugins=False)


def check_integrity(path: Path) -> None:
    """Run quick_check; move a corrupt file (and its WAL) aside and raise."""
    if not path.exists():
        return
    detail = ""
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
        if rows == [("ok",)]:
            return
        detail = "; ".join(str(r[0]) for r in rows[:5])
    except sqlite3.DatabaseError as exc:
        detail = str(exc)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    moved_to = path.with_name(f"{path.name}.corrupt-{stamp}")
    path.rename(moved_to)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(moved_to.with_name(moved_to.name + suffix))
    log.critical("database %s is corrupt (%s); moved to %s", path, detail, moved_to)
    raise CorruptDatabaseError(path, moved_to, detail)


class Store:
    """The HHT database: one writer connection behind a lock, readers per thread."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / DB_FILENAME
        self._write_lock = threading.RLock()
        self._writer: sqlite_utils.Database | None = None
        self._local = threading.local()

    @classmethod
    def open(cls, data_dir: Path) -> Store:
        """Check, open and migrate the database in ``data_dir``."""
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        store = cls(data_dir)
        check_integrity(store.path)
        with store.write() as db:
            MIGRATIONS.apply(db)
        return store

    @property
    def writer(self) -> sqlite_utils.Database:
        if self._writer is None:
            self._writer = connect(self.path)
        return self._writer

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """The single writer, held for one transaction."""
        with self._write_lock:
            db = self.writer
            try:
                with db.atomic():
                    yield db
            except sqlite3.OperationalError as exc:
                if _is_full(exc):
                    log.error("storage full: %s", exc)
                    raise StorageFullError(str(exc)) from exc
                raise

    def reader(self) -> sqlite_utils.Database:
        """A read connection for the calling thread."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            self._local.db = db
        return db

    def close(self) -> None:
        with self._write_lock:
            if self._writer is not None:
                self._writer.conn.close()
                self._writer = None
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    def backup(self, destination: Path) -> Path:
        """A consistent copy of the database (VACUUM INTO)."""
        destination = Path(destination)
        if destination.exists():
            raise FileExistsError(f"backup destination {destination} already exists")
        with self._write_lock:
            self.writer.conn.execute("VACUUM INTO ?", (str(destination),))
        return destination


def restore(data_dir: Path, backup: Path) -> Path:
    """Put ``backup`` in place of the database, keeping the current one aside.

    The backup must pass ``quick_check`` first; the server must be stopped. Returns where
    the replaced database was moved.
    """
    data_dir, backup = Path(data_dir), Path(backup)
    if not backup.is_file():
        raise FileNotFoundError(f"no backup at {backup}")
    try:
        conn = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
            conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{backup} is not a usable HHT backup: {exc}") from exc
    if rows != [("ok",)]:
        raise ValueError(f"{backup} failed its integrity check: {rows[0][0]}")
    current = data_dir / DB_FILENAME
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = current.with_name(f"{current.name}.replaced-{stamp}")
    if current.exists():
        current.rename(kept)
        for suffix in ("-wal", "-shm"):
            side = current.with_name(current.name + suffix)
            if side.exists():
                side.rename(kept.with_name(kept.name + suffix))
    shutil.copyfile(backup, current)
    os.chmod(current, 0o600)
    Store.open(data_dir).close()  # checks it and applies any newer migrations
    return kept
