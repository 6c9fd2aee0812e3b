"""``hht audit verify``: its output, its exit codes, and what it records."""

from __future__ import annotations

import json
import sqlite3

from tests.cli.test_cli import hht
from webapp.store.audit.heads import head_file_path
from webapp.store.db import DB_FILENAME


def test_an_intact_chain_exits_0_and_its_head_is_recorded(demo_dir) -> None:
    result = hht("audit", "verify", "--data-dir", str(demo_dir))
    assert result.stdout.startswith("Audit chain intact: events 1 to ")
    report = json.loads(hht("audit", "verify", "--data-dir", str(demo_dir), "--json").stdout)
    assert set(report) >= {
        "intact",
        "events_checked",
        "first_seq",
        "last_seq",
        "head_link",
        "broken",
        "problems",
        "data_dir",
    }
    assert report["intact"] and report["first_seq"] == 1
    assert report["events_checked"] == report["last_seq"]  # the whole chain was walked
    conn = sqlite3.connect(demo_dir / DB_FILENAME)
    recorded = conn.execute("SELECT seq, link FROM audit_heads ORDER BY id DESC LIMIT 1").fetchone()
    conn.close()
    assert recorded == (report["last_seq"], report["head_link"])
    assert json.loads(head_file_path(demo_dir).read_text())["seq"] == report["last_seq"]


def test_a_broken_chain_exits_1_naming_the_event_and_the_job(demo_dir, demo_jobs) -> None:
    conn = sqlite3.connect(demo_dir / DB_FILENAME, isolation_level=None)
    conn.execute("DROP TRIGGER job_events_append_only_update")
    seq = conn.execute(
        "SELECT seq FROM job_events WHERE job_id = ? ORDER BY seq LIMIT 1", [demo_jobs[1]["id"]]
    ).fetchone()[0]
    conn.execute("UPDATE job_events SET message = 'loaded twice' WHERE seq = ?", [seq])
    conn.close()
    result = hht("audit", "verify", "--data-dir", str(demo_dir), check=False)
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"AUDIT CHAIN BROKEN at event {seq}: ")
    assert demo_jobs[1]["id"] in first and "[changed]" in first


def test_nothing_to_check_exits_2(tmp_path) -> None:
    result = hht("audit", "verify", "--data-dir", str(tmp_path / "none"), check=False)
    assert result.returncode == 2 and "no HHT database" in result.stderr
    assert not (tmp_path / "none").exists()  # checking makes no data directory
