"""``hht user add/reset``: the PIN never goes on the command line; it is read from standard
input (or a hidden prompt), and the old ``--secret`` option is refused with why."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from webapp.auth.secrets import check_secret

HHT = str(Path(sys.executable).with_name("hht"))
PIN = "135792"
NEW_PIN = "864200"
PROC_WAIT_S = 30.0


def _run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [HHT, *args], capture_output=True, text=True, timeout=120, input=stdin, check=False
    )


def _hash_of(data: Path, username: str) -> str:
    with sqlite3.connect(data / "hht.sqlite") as conn:
        return conn.execute(
            "SELECT secret_hash FROM users WHERE username = ?", [username]
        ).fetchone()[0]


def _command_line_once_running(pid: int) -> list[bytes]:
    """The process's arguments as every user of the machine sees them, once it runs hht."""
    deadline = time.monotonic() + PROC_WAIT_S
    while time.monotonic() < deadline:
        seen = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"kim" in seen:
            return seen
        time.sleep(0.02)
    raise AssertionError("hht did not start")


def test_the_pin_is_read_from_stdin_and_never_on_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "d"
    assert _run("init", "--data-dir", str(data)).returncode == 0
    process = subprocess.Popen(
        [HHT, "user", "add", "kim", "--role", "installer", "--data-dir", str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = _command_line_once_running(process.pid)  # waiting for its PIN on stdin
    out, err = process.communicate(PIN + "\n", timeout=120)
    assert process.returncode == 0, err
    assert PIN.encode() not in b"\0".join(seen)
    assert "Added installer kim" in out
    assert check_secret(PIN, _hash_of(data, "kim"))

    reset = _run("user", "reset", "kim", "--data-dir", str(data), stdin=NEW_PIN + "\n")
    assert reset.returncode == 0, reset.stderr
    assert check_secret(NEW_PIN, _hash_of(data, "kim"))
    assert not check_secret(PIN, _hash_of(data, "kim"))


def test_the_old_secret_option_is_refused_and_says_why(tmp_path: Path) -> None:
    data = tmp_path / "d"
    assert _run("init", "--data-dir", str(data)).returncode == 0
    for args in (
        ("user", "add", "kim", "--role", "installer", "--secret", PIN),
        ("user", "reset", "kim", "--secret", PIN),
    ):
        result = _run(*args, "--data-dir", str(data), stdin=PIN + "\n")
        assert result.returncode == 2
        assert "--secret was removed" in result.stderr and "standard input" in result.stderr
    with sqlite3.connect(data / "hht.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM users WHERE username = 'kim'").fetchone() == (0,)


def test_nothing_on_stdin_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "d"
    assert _run("init", "--data-dir", str(data)).returncode == 0
    result = _run("user", "add", "kim", "--role", "installer", "--data-dir", str(data))
    assert result.returncode == 2 and "standard input" in result.stderr
