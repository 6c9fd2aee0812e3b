"""Everything ``hht`` writes in the data directory is the owner's alone, even when it is
started under a umask that would let others read (022, a shell's usual)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from webapp.files import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, create_private, private_dir

HHT = str(Path(sys.executable).with_name("hht"))
OPEN_UMASK = 0o022
DEMO_SUPPLIER = "90B3D51F30DE0001"


def _hht_under_open_umask(*args: str) -> None:
    shell = f'umask {OPEN_UMASK:03o} && exec "$0" "$@"'
    result = subprocess.run(
        ["sh", "-c", shell, HHT, *args], capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, f"hht {' '.join(args)}: {result.stderr}"


def _modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_init_a_job_a_backup_and_an_unload_leave_nothing_readable_by_others(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    _hht_under_open_umask("init", "--demo", "--data-dir", str(data))
    _hht_under_open_umask("run-job", "J261205-01", "--fast", "--data-dir", str(data))
    _hht_under_open_umask("backup", str(data / "by-hand.db"), "--data-dir", str(data))
    _hht_under_open_umask(
        "workpack", "unload", "--supplier", DEMO_SUPPLIER, "--out", str(data / "out.zip"),
        "--data-dir", str(data),
    )  # fmt: skip
    modes = _modes(data)
    names = set(modes)
    # what matters is there: the database, the simulator's, a backup, an unload, a capture
    assert {"hht.sqlite", "sim/han.db", "by-hand.db", "out.zip", "secret_key"} <= names
    assert any(n.startswith("backups/before-unload-") for n in names)
    assert any(n.startswith("unloads/unload-") for n in names)
    assert any(n.startswith("captures/") and n.endswith(".pcapng") for n in names)
    loose = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (PRIVATE_DIR_MODE if (data / name).is_dir() else PRIVATE_FILE_MODE)
    }
    assert loose == {}


def test_the_helpers_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(OPEN_UMASK)
    try:
        made = private_dir(tmp_path / "a" / "b")
        db = create_private(made / "x.db")
        create_private(db)  # an existing file is left as it is
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == PRIVATE_DIR_MODE
    assert stat.S_IMODE(made.stat().st_mode) == PRIVATE_DIR_MODE
    assert stat.S_IMODE(db.stat().st_mode) == PRIVATE_FILE_MODE
