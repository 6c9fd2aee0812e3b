"""Opening the HHT's SQLite database safely, and its one writer.

Every connection gets WAL, ``synchronous=FULL`` and foreign keys.  At start-up
the file is checked with ``PRAGMA quick_check``; a corrupt file is moved aside
(never silently replaced) and the problem is reported loudly.

**The writer** (README, "Uploads and the store's writer").  There is one write
connection behind one lock, and every transaction holding it is short: work that
may take long (reading and verifying an uploaded pack, copying the database) is
done before the lock is taken, on a reader connection or a connection of its own.
Web threads write synchronously with :meth:`Store.write`: waiting a moment for a
short transaction costs a page nothing.  The radio's asyncio loop must never wait
at all, however short the wait (its watchdog pings, the running job's commands
and every button press the loop serves stop while it waits), so the loop writes
with :meth:`Store.write_async`: the transaction runs on the store's own writer
thread (a one-thread executor, so the loop's writes keep their order) and the loop
awaits its result.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from webapp.store.schema import MIGRATIONS

log = logging.getLogger(__name__)

DB_FILENAME = "hht.sqlite"
BUSY_TIMEOUT_SECONDS = 10.0
#: The thread that runs the transactions the radio loop hands over (write_async).
WRITER_THREAD_NAME = "hht-store-writer"

T = TypeVar("T")


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
        self._holder: int | None = None  # the thread holding the write lock, if any
        self._writer: sqlite_utils.Database | None = None
        self._writer_thread: ThreadPoolExecutor | None = None
        self._writer_thread_guard = threading.Lock()
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
        """The single writer, held for one transaction (keep it short: see the module).

        Blocks until the writer is free: for threads, never for the radio's loop, which
        uses :meth:`write_async`."""
        with self._write_lock:
            outermost = self._holder is None
            if outermost:
                self._holder = threading.get_ident()
            try:
                db = self.writer
                try:
                    with db.atomic():
                        yield db
                except sqlite3.OperationalError as exc:
                    if _is_full(exc):
                        log.error("storage full: %s", exc)
                        raise StorageFullError(str(exc)) from exc
                    raise
            finally:
                if outermost:
                    self._holder = None

    @property
    def write_locked(self) -> bool:
        """Whether some thread holds the writer now (tests and benchmarks watch this)."""
        return self._holder is not None

    def _run_write(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        with self.write() as db:
            # the writer thread only ever runs inside a transaction: what it reads (a
            # signer's certificate, say) it reads there, with no connection of its own
            self._local.db = db
            return work(db)

    def _writer_executor(self) -> ThreadPoolExecutor:
        with self._writer_thread_guard:
            if self._writer_thread is None:
                self._writer_thread = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=WRITER_THREAD_NAME
                )
            return self._writer_thread

    async def write_async(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        """``work(db)`` in one transaction on the writer thread; the calling loop awaits it.

        The radio loop's way to write: it goes on serving (the watchdog, the running job,
        the pages' buttons) while the transaction waits for the writer and commits.  The
        loop's transactions run one at a time in the order they were handed over.  Once
        handed over a transaction runs to its end: a task cancelled meanwhile waits for
        it, then stops, so whatever the canceller does next comes after it (as when the
        write was synchronous)."""
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self._writer_executor(), self._run_write, work)
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            await asyncio.wait([done])
            if not done.cancelled():
                done.exception()  # retrieved: the canceller has the cancellation to handle
            raise

    def reader(self) -> sqlite_utils.Database:
        """A read connection for the calling thread (the writer thread's is the writer)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            self._local.db = db
        return db

    def close(self) -> None:
        with self._writer_thread_guard:
            writer_thread, self._writer_thread = self._writer_thread, None
        if writer_thread is not None:
            writer_thread.shutdown(wait=True)  # the loop's last transactions commit first
        with self._write_lock:
            if self._writer is not None:
                self._writer.conn.close()
                self._writer = None
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    def backup(self, destination: Path) -> Path:
        """A consistent copy of the database (VACUUM INTO).

        It reads one snapshot on a connection of its own, so copying a large database
        never holds the writer: writes go on meanwhile and are not in the copy."""
        destination = Path(destination)
        if destination.exists():
            raise FileExistsError(f"backup destination {destination} already exists")
        db = connect(self.path)
        try:
            db.conn.execute("VACUUM INTO ?", (str(destination),))
        finally:
            db.conn.close()
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
