from __future__ import annotations

import sqlite3

import pytest

from webapp.store.db import CorruptDatabaseError, Store
from webapp.store.events import append_event, verify_chain


def test_every_connection_has_the_safety_pragmas(tmp_path):
    store = Store.open(tmp_path)
    for db in (store.writer, store.reader()):
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_migrations_create_the_tables_once(tmp_path):
    Store.open(tmp_path).close()
    store = Store.open(tmp_path)  # second open applies nothing new
    tables = set(store.reader().table_names())
    for name in ("users", "jobs", "service_requests", "commands", "responses", "job_events"):
        assert name in tables
    from webapp.store.schema import MIGRATIONS

    applied = store.reader().execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
    assert applied == len(MIGRATIONS.applied(store.reader())) >= 2
    assert not MIGRATIONS.pending(store.reader())


def test_corrupt_database_is_moved_aside_loudly(tmp_path, caplog):
    Store.open(tmp_path).close()
    path = tmp_path / "hht.sqlite"
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the first page after the header
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptDatabaseError) as info:
        Store.open(tmp_path)
    assert "DATABASE CORRUPT" in str(info.value)
    assert not path.exists()
    assert info.value.moved_to.exists()
    assert info.value.moved_to.read_bytes() == bytes(data)  # kept, not deleted
    assert any("corrupt" in r.message for r in caplog.records)


def test_writes_are_all_or_nothing(tmp_path):
    store = Store.open(tmp_path)
    with pytest.raises(RuntimeError), store.write() as db:
        db["settings"].insert({"key": "a", "value": "1"})
        raise RuntimeError("boom")
    assert store.reader()["settings"].count == 0


def test_event_log_is_append_only_and_hash_chained(tmp_path):
    store = Store.open(tmp_path)
    with store.write() as db:
        db["suppliers"].insert({"eui": "90B3D51F30DE0001", "name": "s"})
        db["jobs"].insert(
            {
                "id": "J1",
                "site": "x",
                "mpxn": "1",
                "supplier_eui": "90B3D51F30DE0001",
                "status": "ready",
                "expected_hub_id": "00DB000000000001",
            }
        )
        for n in range(3):
            append_event(db, "J1", "note", f"event {n}", {"n": n})
    db = store.reader()
    assert verify_chain(db, "J1") is None
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE job_events SET message = 'changed' WHERE id = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM job_events WHERE id = 2")
    # tampering that bypasses the trigger is found by the chain
    db.execute("DROP TRIGGER job_events_append_only_update")
    db.execute("UPDATE job_events SET message = 'changed' WHERE id = 2")
    assert verify_chain(db, "J1") == 2


def test_backup_is_a_consistent_copy(tmp_path):
    store = Store.open(tmp_path / "data")
    with store.write() as db:
        db["settings"].insert({"key": "k", "value": "v"})
    copy = store.backup(tmp_path / "copy.sqlite")
    conn = sqlite3.connect(copy)
    assert conn.execute("SELECT value FROM settings").fetchone() == ("v",)
    with pytest.raises(FileExistsError):
        store.backup(copy)


def test_no_sqlite_utils_plugin_runs_on_the_terminal_s_connections(tmp_path) -> None:
    """Whatever else is installed, no sqlite-utils plugin gets the HHT's connections."""
    import subprocess
    import sys

    script = (
        "import sys; from webapp.store.db import Store\n"
        f"store = Store.open({str(tmp_path)!r}); store.reader()\n"
        "with store.write() as db: pass\n"
        "import sqlite_utils.plugins as plugins; print(plugins._plugins_loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"


def test_the_trust_version_moves_with_every_certificate_change(tmp_path) -> None:
    store = Store.open(tmp_path)

    def version() -> int:
        return store.reader().execute("SELECT version FROM trust_version").fetchone()[0]

    try:
        seen = [version()]
        with store.write() as db:
            db["device_certificates"].insert({"eui": "00DB000000000001", "certificate_pem": "A"})
        seen.append(version())
        with store.write() as db:  # replaced in place: same row, same length
            db["device_certificates"].upsert(
                {"eui": "00DB000000000001", "certificate_pem": "B"}, pk="eui"
            )
        seen.append(version())
        with store.write() as db:
            db["device_certificates"].delete("00DB000000000001")
        seen.append(version())
        assert seen == sorted(set(seen))  # strictly increasing: every change counted
    finally:
        store.close()
