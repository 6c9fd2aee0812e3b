"""A station on the simulated HAN whose clock the tests hold (the jobs tests' rig)."""

from __future__ import annotations

import asyncio
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
