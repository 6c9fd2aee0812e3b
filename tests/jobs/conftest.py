"""A station on the simulated HAN whose clock the tests hold (the jobs tests' rig)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from webapp import config
from webapp.jobs.runner import Runner
from webapp.sim.han.clock import SimClock
from webapp.sim.han.han import SimHan
from webapp.station import Station
from webapp.store.db import Store

RIG_RADIO_SEED = 7


@dataclass
class Rig:
    store: Store
    han: SimHan
    runner: Runner
    clock: SimClock
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    station: Station | None = None

    def job(self, job_id: str) -> dict[str, Any]:
        return self.store.reader()["jobs"].get(job_id)

    def commands(self, job_id: str) -> list[dict[str, Any]]:
        return list(
            self.store.reader()["commands"].rows_where("job_id = ?", [job_id], order_by="seq")
        )

    def executions(self) -> dict[tuple[str, int], int]:
        return {(r["device"], r["counter"]): r["executions"] for r in self.han.device_log()}


def make_rig(data_dir: Path, time_scale: float, frame_loss: float = 0.0) -> Rig:
    """A station over the simulated HAN in ``data_dir``, its clock held by the test, and
    every job update it publishes kept in ``published``."""
    clock = SimClock(time_scale)
    han = SimHan.open(data_dir / config.SIM_DIR, time_scale=time_scale, clock=clock)
    published: list[tuple[str, dict[str, Any]]] = []
    station = asyncio.run(
        Station.open(
            data_dir,
            driver=han.driver(frame_loss=frame_loss, seed=RIG_RADIO_SEED),
            han=han,
            time_scale=time_scale,
            publish=lambda job_id, msg: published.append((job_id, msg)),
        )
    )
    return Rig(station.store, han, station.runner, clock, published, station)


@pytest.fixture
def rig_factory(demo_dir: Path):  # type: ignore[no-untyped-def]
    rigs: list[Rig] = []

    def build(time_scale: float = 1000.0, frame_loss: float = 0.0) -> Rig:
        rig = make_rig(demo_dir, time_scale, frame_loss)
        rigs.append(rig)
        return rig

    yield build
    for rig in rigs:
        assert rig.station is not None
        asyncio.run(rig.station.close())


async def connect(rig: Rig, job_id: str) -> None:
    hub = rig.job(job_id)["expected_hub_id"]
    rig.han.power_cycle(hub)
    await rig.runner.connect(job_id, hub)


# ------------------------------------------------------------ shared helpers
MAX_RESUMES = 6
#: A guard against a hung test, never a timing assertion: waits end on events.
WAIT_LIMIT_SECONDS = 60.0


async def run_until_done(rig: Rig, job_id: str) -> list[str]:
    """Run, and on every resumable stop reconnect and resume, as an installer would;
    the pause messages met on the way."""
    stops = []
    for _ in range(MAX_RESUMES):
        await connect(rig, job_id)
        await rig.runner.start(job_id)
        await rig.runner.wait(job_id)
        job = rig.job(job_id)
        if job["status"] != "paused":
            break
        stops.append(job["status_message"])
    return stops


def assert_exactly_once(rig: Any, job_id: str, *, already_done_ok: bool = False) -> None:
    """Every command of the job settled (answered, or with ``already_done_ok`` refused
    by its device as already done), executed exactly once on its device, and one
    original answer stored for each."""
    settled = {"answered", "rejected"} if already_done_ok else {"answered"}
    executions = rig.executions()
    commands = rig.commands(job_id)
    for c in commands:
        assert c["state"] in settled, c
        assert executions[(c["recipient"], c["counter"])] == 1, c
    responses = rig.store.reader()["responses"]
    originals = responses.count_where("job_id = ? AND duplicate_of IS NULL", [job_id])
    assert originals == len(commands)


async def until(runner: Runner, condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds, looking again after each update the runner
    publishes (it publishes every command and live change)."""
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    stop = runner.board.watch(lambda job_id, msg: loop.call_soon_threadsafe(changed.set))
    try:
        async with asyncio.timeout(WAIT_LIMIT_SECONDS):
            while not condition():
                await changed.wait()
                changed.clear()
    finally:
        stop()


def any_answered(rig: Rig, job_id: str) -> Callable[[], bool]:
    """A condition: some command of the job is answered."""
    return lambda: any(c["state"] == "answered" for c in rig.commands(job_id))
