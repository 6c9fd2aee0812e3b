"""A really full disk (a small tmpfs): the job pauses with the plain message, resumes later."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.jobs.conftest import any_answered, assert_exactly_once, connect, make_rig, until
from webapp import config
from webapp.jobs.runner import STORAGE_FULL_MESSAGE
from webapp.store.db import Store


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)])
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    mount = tmp_path / "disk"
    mount.mkdir()
    if not _mount_tmpfs(mount, "8m"):
        pytest.skip("needs root to mount a small tmpfs")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> Path:
    filler = path / "filler"
    # unbuffered: nothing is left to flush (and fail) when the file is closed
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def test_a_full_disk_pauses_the_job_and_space_lets_it_finish(
    small_disk, demo_dir, demo_jobs, tmp_path
):
    data = small_disk / "data"
    shutil.copytree(demo_dir, data, ignore=shutil.ignore_patterns(config.SIM_DIR))
    # the simulated meters keep their own state elsewhere: only the terminal's disk fills
    shutil.copytree(demo_dir / config.SIM_DIR, tmp_path / "sim")
    (data / config.SIM_DIR).symlink_to(tmp_path / "sim")
    job_id = demo_jobs[1]["id"]
    rig = make_rig(data, 1000.0)
    try:

        async def scenario() -> None:
            await connect(rig, job_id)
            await rig.runner.start(job_id)
            await until(rig.runner, any_answered(rig, job_id))
            filler = _fill(small_disk)  # mid-job, between two commands' writes
            await rig.runner.wait(job_id)
            assert rig.runner.live(job_id).instruction == STORAGE_FULL_MESSAGE
            assert rig.job(job_id)["status"] in ("paused", "running")  # running: pause unwritten
            assert any(c["state"] != "answered" for c in rig.commands(job_id))
            filler.unlink()
            for _ in range(4):
                await connect(rig, job_id)
                await rig.runner.start(job_id)
                await rig.runner.wait(job_id)
                if rig.job(job_id)["status"] != "paused":
                    break

        asyncio.run(scenario())
        assert rig.job(job_id)["status"] == "completed"
        assert_exactly_once(rig, job_id, already_done_ok=True)
    finally:
        asyncio.run(rig.runner.disconnect())
        rig.han.close()
        rig.store.close()
    store = Store.open(data)  # and the file passes its integrity check afterwards
    store.close()
