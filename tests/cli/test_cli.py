"""The hht command, as scripts use it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

HHT = str(Path(sys.executable).with_name("hht"))


def hht(*args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run ``hht args``; ``stdin`` is what it reads (a PIN, say), else nothing."""
    result = subprocess.run(
        [HHT, *args], capture_output=True, text=True, timeout=120, input=stdin or ""
    )
    if check and result.returncode != 0:
        raise AssertionError(f"hht {' '.join(args)} failed: {result.stderr}")
    return result


def test_jobs_json_lists_the_demo_jobs(demo_dir, demo_jobs):
    rows = json.loads(hht("jobs", "--json", "--data-dir", str(demo_dir)).stdout)
    assert [r["id"] for r in rows] == [j["id"] for j in demo_jobs]
    assert set(rows[0]) >= {"id", "site", "mpxn", "supplier", "status"}
    assert rows[0]["supplier"] == "90B3D51F30DE0001"


def test_run_job_completes_and_each_counter_executes_once(demo_dir, demo_jobs):
    job = demo_jobs[0]
    hht("sim", "power-cycle", job["expected_hub_id"], "--data-dir", str(demo_dir))
    result = json.loads(
        hht("run-job", job["id"], "--fast", "--json", "--data-dir", str(demo_dir)).stdout
    )
    assert result["job_id"] == job["id"]
    assert result["status"] == "completed"
    assert result["commands"], "the job has commands"
    for c in result["commands"]:
        assert set(c) >= {
            "seq",
            "service_request",
            "use_case",
            "counter",
            "state",
            "attempts",
            "outcome",
        }
        assert c["state"] == "answered" and c["outcome"] == "success"
    log = json.loads(hht("sim", "log", "--json", "--data-dir", str(demo_dir)).stdout)
    executed = {(r["counter"], r["message_code"]): r for r in log}
    for c in result["commands"]:
        rows = [r for r in log if r["counter"] == c["counter"]]
        assert len(rows) == 1 and rows[0]["executions"] == 1, c
    assert all(
        set(r) >= {"device", "counter", "message_code", "executions"} for r in executed.values()
    )
    # running it again changes nothing: the job is finished, nothing is resent
    again = json.loads(
        hht("run-job", job["id"], "--fast", "--json", "--data-dir", str(demo_dir)).stdout
    )
    assert again["commands"] == result["commands"]
    assert json.loads(hht("sim", "log", "--json", "--data-dir", str(demo_dir)).stdout) == log


def test_run_job_with_an_unknown_job_says_so(demo_dir):
    result = hht("run-job", "NOPE", "--fast", "--data-dir", str(demo_dir), check=False)
    assert result.returncode == 2
    assert "No job NOPE" in result.stderr


def test_user_commands(tmp_path):
    data = str(tmp_path / "d")
    hht("init", "--data-dir", data)
    hht("user", "add", "kim", "--role", "installer", "--data-dir", data, stdin="112233\n")
    bad = hht(
        "user", "add", "lee", "--role", "installer", "--data-dir", data, check=False, stdin="12"
    )
    assert bad.returncode == 2 and "6 to 8 digits" in bad.stderr
    hht("user", "disable", "kim", "--data-dir", data)
    hht("user", "reset", "kim", "--data-dir", data, stdin="445566\n")
    missing = hht("user", "disable", "nobody", "--data-dir", data, check=False)
    assert missing.returncode == 2 and "No user nobody" in missing.stderr


def test_serve_refuses_an_empty_data_dir(tmp_path):
    result = hht("serve", "--data-dir", str(tmp_path / "empty"), check=False)
    assert result.returncode == 2
    assert "hht init" in result.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_unit_file_passes_systemd_analyze_verify(tmp_path):
    unit = (REPO_ROOT / "systemd" / "hht.service").read_text()
    # verify with the paths of this checkout, which exist here
    unit = unit.replace("/opt/hht/.venv/bin/hht", HHT)
    target = tmp_path / "hht.service"
    target.write_text(unit)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(target)], capture_output=True, text=True, timeout=60
    )
    problems = [
        line for line in (result.stdout + result.stderr).splitlines() if "hht.service" in line
    ]
    assert result.returncode == 0 and not problems, result.stderr


def test_url_prints_the_address_and_a_qr_code(tmp_path):
    hht("init", "--data-dir", str(tmp_path))
    out = hht("url", "--data-dir", str(tmp_path), "--port", "8080").stdout
    assert "http://" in out and ":8080/" in out
    assert "█" in out  # the QR code, drawn in the terminal
    hht("tls", "init", "--data-dir", str(tmp_path))
    assert "https://" in hht("url", "--data-dir", str(tmp_path)).stdout


def test_backup_and_restore(tmp_path):
    data = str(tmp_path / "d")
    hht("init", "--data-dir", data)
    hht("user", "add", "kim", "--role", "installer", "--data-dir", data, stdin="112233\n")
    backup = tmp_path / "before.sqlite"
    hht("backup", str(backup), "--data-dir", data)
    assert backup.stat().st_mode & 0o777 == 0o600
    hht("user", "add", "lee", "--role", "installer", "--data-dir", data, stdin="445566\n")
    restored = hht("restore", str(backup), "--data-dir", data)
    assert "kept as" in restored.stdout
    import sqlite3

    users = {
        r[0]
        for r in sqlite3.connect(Path(data) / "hht.sqlite").execute("SELECT username FROM users")
    }
    assert users == {"kim"}
    kept = list(Path(data).glob("hht.sqlite.replaced-*"))
    assert kept and {
        r[0] for r in sqlite3.connect(kept[0]).execute("SELECT username FROM users")
    } == {"kim", "lee"}
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database" * 100)
    refused = hht("restore", str(junk), "--data-dir", data, check=False)
    assert refused.returncode == 2 and "not a usable HHT backup" in refused.stderr


def test_a_corrupt_database_stops_the_start_loudly(tmp_path):
    data = tmp_path / "d"
    hht("init", "--data-dir", str(data))
    db = data / "hht.sqlite"
    raw = bytearray(db.read_bytes())
    raw[100:4096] = b"\xff" * (4096 - 100)
    db.write_bytes(bytes(raw))
    result = hht("jobs", "--data-dir", str(data), check=False)
    assert result.returncode == 3
    assert "CRITICAL" in result.stderr and "hht: DATABASE CORRUPT" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(data.glob("hht.sqlite.corrupt-*"))
