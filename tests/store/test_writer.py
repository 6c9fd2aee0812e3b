"""The store's writer: the radio loop hands its transactions to the writer thread and goes
on, however long another thread holds the writer; long reads (a backup) never take it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from webapp.store.db import WRITER_THREAD_NAME, StorageFullError, Store

#: A guard against a hung test, never a timing assertion: every wait ends on an event.
WAIT_LIMIT_SECONDS = 30.0
HEARTBEATS_WHILE_HELD = 20
TICK_SECONDS = 0.001


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = Store.open(tmp_path)
    with s.write() as db:
        db.execute("CREATE TABLE IF NOT EXISTS notes (n INTEGER, thread TEXT)")
    yield s
    s.close()


def _note(n: int):  # type: ignore[no-untyped-def]
    def write(db) -> str:  # type: ignore[no-untyped-def]
        name = threading.current_thread().name
        db.execute("INSERT INTO notes VALUES (?, ?)", [n, name])
        return name

    return write


class HeldWriter:
    """Another thread holding the store's writer until told to let go."""

    def __init__(self, store: Store) -> None:
        self.taken = threading.Event()
        self.release = threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(store,), daemon=True)

    def _hold(self, store: Store) -> None:
        with store.write():
            self.taken.set()
            self.release.wait(WAIT_LIMIT_SECONDS)

    def __enter__(self) -> HeldWriter:
        self._thread.start()
        assert self.taken.wait(WAIT_LIMIT_SECONDS)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._thread.join(WAIT_LIMIT_SECONDS)


def test_the_loop_writes_on_the_writer_thread_in_order(store: Store) -> None:
    async def scenario() -> list[str]:
        return list(await asyncio.gather(*(store.write_async(_note(n)) for n in range(50))))

    threads = asyncio.run(scenario())
    assert all(name.startswith(WRITER_THREAD_NAME) for name in threads)
    rows = [r[0] for r in store.reader().execute("SELECT n FROM notes ORDER BY rowid")]
    assert rows == list(range(50))


def test_the_loop_keeps_running_while_another_thread_holds_the_writer(store: Store) -> None:
    """Structural, not timed: with the writer held, the loop counts heartbeats while its
    own write waits; the write commits once the writer is let go."""

    async def scenario() -> tuple[int, bool, bool]:
        with HeldWriter(store) as held:
            pending = asyncio.ensure_future(store.write_async(_note(1)))
            beats = 0
            while beats < HEARTBEATS_WHILE_HELD:
                await asyncio.sleep(TICK_SECONDS)
                beats += 1
            done_while_held = pending.done()
            assert store.write_locked
            held.release.set()
            await asyncio.wait_for(pending, WAIT_LIMIT_SECONDS)
        return beats, done_while_held, store.write_locked

    beats, done_while_held, locked_after = asyncio.run(scenario())
    assert beats == HEARTBEATS_WHILE_HELD
    assert not done_while_held, "the write cannot have committed while the writer was held"
    assert not locked_after
    assert store.reader().execute("SELECT count(*) FROM notes").fetchone()[0] == 1


def test_a_cancelled_write_still_commits_before_the_cancel_lands(store: Store) -> None:
    """A transaction handed over runs to its end; the canceller's next step comes after."""

    async def scenario() -> int:
        with HeldWriter(store) as held:
            task = asyncio.ensure_future(store.write_async(_note(7)))
            await asyncio.sleep(0)
            task.cancel()
            await asyncio.sleep(0)
            assert not task.done(), "the task waits for its transaction before it stops"
            held.release.set()
            with pytest.raises(asyncio.CancelledError):
                await task
        return store.reader().execute("SELECT count(*) FROM notes WHERE n = 7").fetchone()[0]

    assert asyncio.run(scenario()) == 1


def test_errors_come_back_to_the_loop_and_roll_back(store: Store) -> None:
    def fails(db) -> None:  # type: ignore[no-untyped-def]
        db.execute("INSERT INTO notes VALUES (99, 'x')")
        raise sqlite3.OperationalError("database or disk is full")

    with pytest.raises(StorageFullError):
        asyncio.run(store.write_async(fails))
    assert store.reader().execute("SELECT count(*) FROM notes").fetchone()[0] == 0
    assert not store.write_locked


def test_write_locked_follows_the_outermost_transaction(store: Store) -> None:
    assert not store.write_locked
    with store.write():
        assert store.write_locked
        with store.write():
            assert store.write_locked
        assert store.write_locked
    assert not store.write_locked


def test_a_backup_does_not_take_the_writer(store: Store, tmp_path: Path) -> None:
    with store.write() as db:
        db.execute("INSERT INTO notes VALUES (1, 'before')")
    copied = threading.Event()
    target = tmp_path / "copy.db"

    def backup() -> None:
        store.backup(target)
        copied.set()

    with HeldWriter(store):
        worker = threading.Thread(target=backup, daemon=True)
        worker.start()
        assert copied.wait(WAIT_LIMIT_SECONDS), "the backup waited for the writer"
    worker.join(WAIT_LIMIT_SECONDS)
    conn = sqlite3.connect(target)
    try:
        assert conn.execute("SELECT n FROM notes").fetchall() == [(1,)]
    finally:
        conn.close()


def test_close_lets_the_loops_last_writes_commit(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    with store.write() as db:
        db.execute("CREATE TABLE notes (n INTEGER, thread TEXT)")
    asyncio.run(store.write_async(_note(3)))
    store.close()
    reopened = Store.open(tmp_path)
    try:
        assert reopened.reader().execute("SELECT n FROM notes").fetchall() == [(3,)]
    finally:
        reopened.close()


def test_the_writer_thread_reads_through_its_transaction(store: Store) -> None:
    """What a transaction reads on the writer thread (a signer's certificate, say) comes
    through the transaction's own connection: the thread opens no second one."""

    def read_inside(db) -> bool:  # type: ignore[no-untyped-def]
        db.execute("INSERT INTO notes VALUES (5, 'inside')")
        reader = store.reader()
        return reader is db and reader.execute("SELECT n FROM notes").fetchall() == [(5,)]

    assert asyncio.run(store.write_async(read_inside))
