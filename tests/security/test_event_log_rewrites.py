"""Issue 15 item 3: the event log cannot be rewritten without notice.

Each rewrite the issue lists is done the way it was done there, with ``DROP TRIGGER`` on a
raw sqlite3 connection while the terminal runs, after a completed job: ``hht audit verify``
exits non-zero naming the first broken event, and the supervisor's job page no longer says
verified.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.test_cli import hht
from tests.conftest import FAST, login
from webapp import config
from webapp.store.audit import verify
from webapp.store.audit.key import key_path
from webapp.store.db import DB_FILENAME

VERIFIED = 'data-state="verified"'
BROKEN = 'data-state="broken"'


@pytest.fixture(scope="module")
def completed_template(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data with its first job run to the end on the simulated HAN."""
    from webapp.cli.run_job import run_job_headless
    from webapp.sim.han.han import SimHan
    from webapp.store.db import Store

    directory = tmp_path_factory.mktemp("completed") / "data"
    shutil.copytree(demo_template, directory)
    store = Store.open(directory)
    try:
        job_id, hub_id = (
            store.reader().execute("SELECT id, expected_hub_id FROM jobs ORDER BY id").fetchone()
        )
    finally:
        store.close()
    han = SimHan.open(directory / config.SIM_DIR)
    try:
        han.power_cycle(hub_id)
    finally:
        han.close()
    assert asyncio.run(run_job_headless(directory, job_id, FAST))["status"] == "completed"
    (directory / "job-id").write_text(job_id)
    return directory


@pytest.fixture
def demo_dir(completed_template: Path, tmp_path: Path) -> Path:  # the app runs over this
    target = tmp_path / "data"
    shutil.copytree(completed_template, target)
    return target


@pytest.fixture
def job_id(demo_dir: Path) -> str:
    return (demo_dir / "job-id").read_text()


def raw(data_dir: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(data_dir / DB_FILENAME, isolation_level=None)
    conn.execute("DROP TRIGGER job_events_append_only_update")
    conn.execute("DROP TRIGGER job_events_append_only_delete")
    return conn


def seqs(conn: sqlite3.Connection, job_id: str, where: str = "1") -> list[int]:
    sql = f"SELECT seq FROM job_events WHERE job_id = ? AND {where} ORDER BY seq"
    return [r[0] for r in conn.execute(sql, [job_id])]


def change_actor(conn: sqlite3.Connection, job_id: str) -> int:
    seq = seqs(conn, job_id)[2]
    conn.execute("UPDATE job_events SET actor = 'sam' WHERE seq = ?", [seq])
    return seq


def rewrite_time_source(conn: sqlite3.Connection, job_id: str) -> int:
    seq = seqs(conn, job_id, "time_source IS NOT NULL")[0]
    conn.execute(
        "UPDATE job_events SET time_source = 'hub', time_uncertainty_s = 0.01 WHERE seq = ?", [seq]
    )
    return seq


def delete_last_four(conn: sqlite3.Connection, job_id: str) -> int:
    last_four = seqs(conn, job_id)[-4:]
    conn.execute(f"DELETE FROM job_events WHERE seq IN ({','.join(map(str, last_four))})")
    return last_four[0]


def delete_all(conn: sqlite3.Connection, job_id: str) -> int:
    first = seqs(conn, job_id)[0]
    conn.execute("DELETE FROM job_events WHERE job_id = ?", [job_id])
    return first


def _legacy_digest(prev: str, job_id: str, at: str, kind: str, message: str, data: str) -> str:
    """The hash the log used before (no key, no actor, no time quality, per job)."""
    return hashlib.sha256("\x1f".join([prev, job_id, at, kind, message, data]).encode()).hexdigest()


def rewrite_final_status(conn: sqlite3.Connection, job_id: str) -> int:
    """Make the completed job a failed one and recompute the job's chain from there the old
    way (SHA-256 per job, no key)."""
    final = seqs(conn, job_id, "kind = 'status'")[-1]
    conn.execute(
        "UPDATE job_events SET message = 'Job failed', data = ? WHERE seq = ?",
        [json.dumps({"status": "failed"}, separators=(",", ":")), final],
    )
    conn.execute("UPDATE jobs SET status = 'failed' WHERE id = ?", [job_id])
    rows = conn.execute(
        "SELECT seq, at, kind, message, data FROM job_events WHERE job_id = ? AND seq >= ? "
        "ORDER BY seq",
        [job_id, final],
    ).fetchall()
    prev = conn.execute(  # the job's event before it, as the old per-job chain ran
        "SELECT hash FROM job_events WHERE job_id = ? AND seq < ? ORDER BY seq DESC LIMIT 1",
        [job_id, final],
    ).fetchone()[0]
    for seq, at, kind, message, data in rows:
        digest = _legacy_digest(prev, job_id, at, kind, message, data)
        conn.execute(
            "UPDATE job_events SET prev_hash = ?, hash = ? WHERE seq = ?", [prev, digest, seq]
        )
        prev = digest
    return final


@dataclass(frozen=True)
class Rewrite:
    name: str
    tamper: Callable[[sqlite3.Connection, str], int]
    kind: str
    later_event: bool = False  # another job's event follows, so the deletion is mid-chain


REWRITES = [
    Rewrite("change an event's actor", change_actor, verify.CHANGED),
    Rewrite("rewrite its time source", rewrite_time_source, verify.CHANGED),
    Rewrite("delete a job's last four events (the newest)", delete_last_four, verify.DELETED_TAIL),
    Rewrite("delete a job's last four events (mid-chain)", delete_last_four, verify.MISSING, True),
    Rewrite("delete all of a job's events", delete_all, verify.MISSING),
    Rewrite("rewrite a final status, re-hashed the old way", rewrite_final_status, verify.CHANGED),
]


def _chain_state(page: str) -> str:
    found = re.search(r'<[^>]*id="chain-state"[^>]*>(.*?)</(?:p|div)>', page, re.S)
    assert found, "the job page shows the chain's state"
    return found.group(0)


@pytest.mark.parametrize("rewrite", REWRITES, ids=[r.name for r in REWRITES])
def test_each_rewrite_is_named_by_hht_audit_verify_and_shown_on_the_job_page(
    app, client, demo_dir: Path, job_id: str, rewrite: Rewrite
) -> None:
    login(client, "supervisor")
    before = _chain_state(client.get(f"/s/jobs/{job_id}").get_data(as_text=True))
    assert VERIFIED in before and "hash chain verified up to event" in before

    if rewrite.later_event:
        from webapp.store.events import append_event
        from webapp.web.context import station

        with app.app_context(), station().store.write() as db:
            other = db.execute("SELECT id FROM jobs WHERE id != ? LIMIT 1", [job_id]).fetchone()[0]
            append_event(db, other, "note", "another job goes on")
    conn = raw(demo_dir)
    first_broken = rewrite.tamper(conn, job_id)
    conn.close()

    shown = _chain_state(client.get(f"/s/jobs/{job_id}").get_data(as_text=True))
    assert BROKEN in shown and VERIFIED not in shown and "verified" not in shown, shown
    assert f"broken at event {first_broken}" in shown, shown

    result = hht("audit", "verify", "--data-dir", str(demo_dir), "--json", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = json.loads(result.stdout)["broken"]
    assert (broken["seq"], broken["kind"]) == (first_broken, rewrite.kind), broken
    text = hht("audit", "verify", "--data-dir", str(demo_dir), check=False)
    assert text.returncode == 1
    assert text.stdout.startswith(f"AUDIT CHAIN BROKEN at event {first_broken}:"), text.stdout
    if broken["job_id"]:  # a changed row names its job; a gap names the event after it
        assert job_id in text.stdout

    # the break stays on the page after the check that found it, and across a restart
    again = _chain_state(client.get(f"/s/jobs/{job_id}").get_data(as_text=True))
    assert BROKEN in again and "verified" not in again


def test_the_chain_is_intact_after_a_real_job(demo_dir: Path, job_id: str) -> None:
    result = hht("audit", "verify", "--data-dir", str(demo_dir), "--json")
    report = json.loads(result.stdout)
    assert report["intact"] and report["broken"] is None
    conn = sqlite3.connect(demo_dir / DB_FILENAME)
    row = conn.execute(
        "SELECT count(*), count(DISTINCT actor), count(time_source) FROM job_events "
        "WHERE job_id = ?",
        [job_id],
    ).fetchone()
    conn.close()
    assert row[0] >= 8 and row[2] > 0  # a real job's events, stamped with the clock's quality


def test_the_terminal_refuses_to_start_with_a_key_others_can_read(demo_dir: Path) -> None:
    from webapp.station import Station, StationError

    os.chmod(key_path(demo_dir), 0o644)
    with pytest.raises(StationError, match="readable by others"):
        asyncio.run(Station.open(demo_dir, time_scale=FAST))
    result = hht("audit", "verify", "--data-dir", str(demo_dir), check=False)
    assert result.returncode == 2 and "chmod 600" in result.stderr


def test_a_break_made_while_the_terminal_was_off_is_found_at_start_up(
    demo_dir: Path, job_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    from webapp.station import Station
    from webapp.store.audit.state import last_check

    conn = raw(demo_dir)
    seq = change_actor(conn, job_id)
    conn.close()

    async def open_and_close() -> None:
        station = await Station.open(demo_dir, time_scale=FAST)
        try:
            state = last_check(station.store.reader())
            assert state.broken is not None and state.broken.seq == seq
        finally:
            await station.close()

    asyncio.run(open_and_close())
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any(f"AUDIT CHAIN BROKEN at event {seq}" in e for e in errors), errors
