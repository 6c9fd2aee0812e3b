"""The keyed audit chain over every job event: what it covers, its key, its heads, the
migration that starts it, and the incremental start-up check."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from webapp.store.audit import chain, verify
from webapp.store.audit.heads import head_file_path
from webapp.store.audit.key import AuditKeyError, key_path, load_key
from webapp.store.audit.migrate import START_KIND
from webapp.store.audit.state import (
    check_new_events,
    check_on_open,
    last_check,
    verify_and_record,
)
from webapp.store.db import DB_FILENAME, Store, connect
from webapp.store.events import TimeQuality, append_event, verify_chain
from webapp.store.schema import MIGRATIONS

SUPPLIER = "90B3D51F30DE0001"
QUALITY = TimeQuality("hub", 0.5, -1.25)


def _job(db, job_id: str) -> None:  # type: ignore[no-untyped-def]
    if not db["suppliers"].count_where("eui = ?", [SUPPLIER]):
        db["suppliers"].insert({"eui": SUPPLIER, "name": "s"})
    db["jobs"].insert(
        {
            "id": job_id,
            "site": "x",
            "mpxn": "1",
            "supplier_eui": SUPPLIER,
            "status": "ready",
            "expected_hub_id": "00DB000000000001",
        }
    )


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = Store.open(tmp_path)
    with s.write() as db:
        for job_id in ("J1", "J2"):
            _job(db, job_id)
            for n in range(4):
                append_event(
                    db,
                    job_id,
                    "note",
                    f"{job_id} event {n}",
                    {"n": n},
                    "alex",
                    time_quality=QUALITY,
                )
    yield s
    s.close()


def raw(data_dir: Path) -> sqlite3.Connection:
    """The database as someone with sqlite3 and write access has it, triggers dropped."""
    conn = sqlite3.connect(data_dir / DB_FILENAME, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS job_events_append_only_update")
    conn.execute("DROP TRIGGER IF EXISTS job_events_append_only_delete")
    return conn


def full(store: Store) -> verify.Report:
    return verify.verify_all(store.reader(), load_key(store.data_dir), store.data_dir)


def test_a_new_database_starts_the_chain_with_an_owner_only_key(store) -> None:
    assert oct(key_path(store.data_dir).stat().st_mode & 0o777) == oct(0o600)
    assert oct(key_path(store.data_dir).parent.stat().st_mode & 0o777) == oct(0o700)
    rows = list(store.reader().query("SELECT * FROM job_events ORDER BY seq"))
    assert rows[0]["kind"] == START_KIND and rows[0]["job_id"] is None
    assert [r["seq"] for r in rows] == list(range(1, 10))
    assert rows[1]["prev_hash"] == rows[0]["hash"]  # one chain across jobs: J2 follows J1
    assert rows[5]["job_id"] == "J2" and rows[5]["prev_hash"] == rows[4]["hash"]
    assert head_file_path(store.data_dir).exists()
    report = full(store)
    assert report.intact and report.events == 9 and report.last_seq == 9


@pytest.mark.parametrize(
    ("column", "value", "kind"),
    [
        ("job_id", "J2", verify.CHANGED),
        ("at", "2020-01-01T00:00:00.000+00:00", verify.CHANGED),
        ("kind", "status", verify.CHANGED),
        ("message", "nothing happened", verify.CHANGED),
        ("data", '{"n":9}', verify.CHANGED),
        ("actor", "sam", verify.CHANGED),
        ("time_source", "system", verify.CHANGED),
        ("time_uncertainty_s", 0.1, verify.CHANGED),
        ("time_offset_s", 0.0, verify.CHANGED),
        ("id", 1000, verify.CHANGED),
        ("prev_hash", "ab" * 32, verify.CHANGED),
        ("hash", "cd" * 32, verify.CHANGED),
        ("mac", "ef" * 32, verify.BAD_MAC),
    ],
)
def test_every_column_of_an_event_is_covered(store, column, value, kind) -> None:
    raw(store.data_dir).execute(f"UPDATE job_events SET {column} = ? WHERE seq = 3", [value])
    report = full(store)
    assert report.broken is not None
    assert (report.broken.kind, report.broken.seq) == (kind, 3), report.to_dict()
    owner = value if column == "job_id" else "J1"
    assert verify_chain(store.reader(), owner) is not None  # the job's own check sees it too


def test_the_sequence_is_covered_and_gaps_and_repeats_are_named(store) -> None:
    conn = raw(store.data_dir)
    conn.execute("DROP INDEX job_events_seq")
    conn.execute("UPDATE job_events SET seq = 4 WHERE seq = 5")
    report = full(store)
    kinds = {(p.kind, p.seq) for p in report.problems}
    assert (verify.DUPLICATE, 4) in kinds and (verify.MISSING, 5) in kinds


def test_moving_an_intact_event_is_found(store) -> None:
    """Swap two events' places by their sequence numbers: each row fails its link."""
    conn = raw(store.data_dir)
    conn.execute("DROP INDEX job_events_seq")
    conn.execute(
        "UPDATE job_events SET seq = CASE seq WHEN 4 THEN 5 ELSE 4 END WHERE seq IN (4, 5)"
    )
    assert full(store).broken.seq == 4


def test_rechaining_without_the_key_breaks_the_hmac(store) -> None:
    """Someone who knows the link rule but not the key edits event 4 and recomputes every
    link after it: the links check, the HMACs do not."""
    conn = raw(store.data_dir)
    columns = ", ".join(chain.RECORD_COLUMNS)
    rows = conn.execute(f"SELECT {columns}, prev_hash FROM job_events WHERE seq >= 4 ORDER BY seq")
    prev = None
    for row in list(rows):
        values = list(row[:-1])
        if values[1] == 4:
            values[5] = "rewritten"
        prev = prev or row[-1]
        link = chain.link_of(prev, chain.digest_of(chain.record_text(values)))
        conn.execute(
            "UPDATE job_events SET message = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            [values[5], prev, link, values[1]],
        )
        prev = link
    report = full(store)
    assert (report.broken.kind, report.broken.seq) == (verify.BAD_MAC, 4)


def test_deleting_the_newest_events_is_found_by_the_head_row(store) -> None:
    raw(store.data_dir).execute("DELETE FROM job_events WHERE seq > 6")
    report = full(store)
    assert (report.broken.kind, report.broken.seq) == (verify.DELETED_TAIL, 7)
    assert "7 to 9" in report.broken.detail


def test_and_by_the_recorded_heads_when_the_head_row_is_put_back_too(store) -> None:
    """Delete the newest events and point the head row at the new end (without the key:
    copied from an event); then also delete the head row and the head file: each time a
    recorded head still reaches beyond the log."""
    verify_and_record(store)  # records the head at event 9
    conn = raw(store.data_dir)
    conn.execute("DELETE FROM job_events WHERE seq > 6")
    conn.execute(
        "UPDATE audit_head SET seq = 6, link = (SELECT hash FROM job_events WHERE seq = 6), "
        "mac = (SELECT mac FROM job_events WHERE seq = 6)"
    )
    report = full(store)
    assert report.broken.seq == 6 and report.broken.kind == verify.HEAD  # forged head row
    assert (verify.DELETED_TAIL, 7) in {(p.kind, p.seq) for p in report.problems}
    conn.execute("DELETE FROM audit_head")
    head_file_path(store.data_dir).unlink()
    report = full(store)
    assert (verify.DELETED_TAIL, 7) in {(p.kind, p.seq) for p in report.problems}


def test_an_event_appended_after_the_tail_was_deleted_leaves_the_gap(store) -> None:
    raw(store.data_dir).execute("DELETE FROM job_events WHERE seq > 6")
    with store.write() as db:
        event = append_event(db, "J1", "note", "after")
    assert event["seq"] == 10  # the head row, not the shortened log, says where the chain is
    assert (full(store).broken.kind, full(store).broken.seq) == (verify.MISSING, 7)


def test_an_event_written_past_the_chain_is_found(store) -> None:
    raw(store.data_dir).execute(
        "INSERT INTO job_events (job_id, at, kind, message, data, actor) "
        "VALUES ('J1', '2026-01-01', 'status', 'completed', '{}', 'hht')"
    )
    report = full(store)
    assert verify.OUTSIDE in {p.kind for p in report.problems}


def test_the_key_must_be_owner_only_and_present(store) -> None:
    path = key_path(store.data_dir)
    os.chmod(path, 0o640)
    with pytest.raises(AuditKeyError, match="readable by others"):
        load_key(store.data_dir)
    os.chmod(path, 0o600)
    path.unlink()
    fresh = connect(store.path)  # a new connection loads the key afresh
    with pytest.raises(AuditKeyError, match="missing"), fresh.atomic():
        append_event(fresh, "J1", "note", "no key")


def test_the_start_up_check_walks_only_what_came_since_and_remembers_it(store) -> None:
    first = check_on_open(store)
    assert first.intact
    assert last_check(store.reader()).verified_seq == 9
    with store.write() as db:
        for n in range(3):
            append_event(db, "J2", "note", f"later {n}")
    second = check_on_open(store)
    assert second.intact and second.events == 3 and second.last_seq == 12
    assert last_check(store.reader()).verified_seq == 12


def test_the_running_terminals_check_records_only_new_events(store) -> None:
    check_on_open(store)
    heads = store.reader()["audit_heads"].count
    assert check_new_events(store) is None  # nothing new: nothing walked, nothing recorded
    assert store.reader()["audit_heads"].count == heads
    with store.write() as db:
        for n in range(2):
            append_event(db, "J1", "note", f"later {n}")
    report = check_new_events(store)
    assert report is not None and report.intact and report.events == 2
    assert last_check(store.reader()).verified_seq == 11
    assert store.reader()["audit_heads"].count == heads + 1
    # a break among the new events is found, recorded and chained, as at start-up
    with store.write() as db:
        append_event(db, "J2", "note", "to be altered")
    raw(store.data_dir).execute("UPDATE job_events SET message = 'altered' WHERE seq = 12")
    broken = check_new_events(store)
    assert broken is not None and broken.broken is not None and broken.broken.seq == 12
    assert last_check(store.reader()).broken.seq == 12


def test_a_break_found_at_start_up_is_logged_recorded_and_chained(store, caplog) -> None:
    raw(store.data_dir).execute("UPDATE job_events SET actor = 'sam' WHERE seq = 8")
    report = check_on_open(store)
    assert report.broken.seq == 8
    assert any(r.levelname == "ERROR" and "AUDIT CHAIN BROKEN" in r.message for r in caplog.records)
    state = last_check(store.reader())
    assert state.broken is not None and state.broken.seq == 8
    kinds = [r[0] for r in store.reader().execute("SELECT kind FROM job_events ORDER BY seq")]
    assert kinds[-1] == "audit-broken"
    # a later check of only the newest events does not clear a break it cannot see
    check_on_open(store)
    assert last_check(store.reader()).broken.seq == 8


def _legacy_digest(prev: str, job_id: str, at: str, kind: str, message: str, data: str) -> str:
    return hashlib.sha256("\x1f".join([prev, job_id, at, kind, message, data]).encode()).hexdigest()


def test_an_older_database_is_rechained_from_its_content_with_a_marker(tmp_path) -> None:
    """A database from before m007: per-job hashes, one of them already broken."""
    db = connect(tmp_path / DB_FILENAME)
    with db.atomic():
        MIGRATIONS.apply(db, stop_before="m007_audit_chain")
    with db.atomic():
        _job(db, "OLD1")
        _job(db, "OLD2")
        prev = {"OLD1": "0" * 64, "OLD2": "0" * 64}
        for n, job_id in enumerate(["OLD1", "OLD2", "OLD1", "OLD2", "OLD1"]):
            at, data = f"2025-01-0{n + 1}T00:00:00.000+00:00", json.dumps({"n": n})
            digest = _legacy_digest(prev[job_id], job_id, at, "note", f"old {n}", data)
            db["job_events"].insert(
                {
                    "job_id": job_id,
                    "at": at,
                    "kind": "note",
                    "message": f"old {n}",
                    "data": data,
                    "actor": "hht",
                    "prev_hash": prev[job_id],
                    "hash": digest,
                }
            )
            prev[job_id] = digest
    db.execute("DROP TRIGGER job_events_append_only_update")
    db.execute("UPDATE job_events SET message = 'edited before the upgrade' WHERE id = 4")
    db.conn.close()
    assert not key_path(tmp_path).exists()

    store = Store.open(tmp_path)  # m007 runs
    try:
        rows = list(store.reader().query("SELECT * FROM job_events ORDER BY seq"))
        assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5, 6]
        assert rows[3]["message"] == "edited before the upgrade"  # anchored as it stood
        marker = rows[-1]
        assert marker["kind"] == START_KIND and marker["job_id"] is None
        assert json.loads(marker["data"]) == {"rechained": 5, "legacy_broken_event_ids": [4]}
        assert "events [4]" in marker["message"]
        assert oct(key_path(tmp_path).stat().st_mode & 0o777) == oct(0o600)
        assert full(store).intact
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            store.reader().execute("DELETE FROM job_events WHERE seq = 1")
    finally:
        store.close()


def test_verifying_100000_events_takes_seconds(tmp_path) -> None:
    store = Store.open(tmp_path)
    key = load_key(tmp_path)
    with store.write() as db:
        _job(db, "BIG")
        head = chain.read_head(db)
        seq, link, rows = head.seq, head.link, []
        for n in range(100_000):
            seq += 1
            row = chain.normalise(
                {
                    "id": seq,
                    "seq": seq,
                    "job_id": "BIG",
                    "at": "2026-01-01T00:00:00.000+00:00",
                    "kind": "note",
                    "message": f"event {n}",
                    "data": "{}",
                    "actor": "hht",
                    "time_source": "hub",
                    "time_uncertainty_s": 0.5,
                    "time_offset_s": 0.0,
                }
            )
            event = chain.seal(row, link, key)
            link = event["hash"]
            rows.append(event)
        db["job_events"].insert_all(rows, batch_size=5000)
        chain.write_head(db, key, seq, link)
    report = full(store)  # how fast: make bench (audit), never a timed assertion here
    store.close()
    assert report.intact and report.events == 100_001


def test_the_bench_figures_have_their_shape() -> None:
    from webapp.bench.audit import audit_figures

    figures = audit_figures(events=2_000, appended=100)
    assert figures["events"] == 2_000 and figures["verify_events_per_second"] > 0
    assert 0 < figures["chain_us_per_event"] < figures["append_us_per_event"]
    assert figures["startup_check_ms"] > 0
