"""A runner on the simulated HAN, built piece by piece so tests can hold the clock."""

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
from webapp.station import load_certificates
from webapp.store.db import Store


@dataclass
class Rig:
    store: Store
    han: SimHan
    runner: Runner
    clock: SimClock
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def job(self, job_id: str) -> dict[str, Any]:
        return self.store.reader()["jobs"].get(job_id)

    def commands(self, job_id: str) -> list[dict[str, Any]]:
        return list(
            self.store.reader()["commands"].rows_where("job_id = ?", [job_id], order_by="seq")
        )

    def executions(self) -> dict[tuple[str, int], int]:
        return {(r["device"], r["counter"]): r["executions"] for r in self.han.device_log()}


def make_rig(data_dir: Path, time_scale: float, frame_loss: float = 0.0) -> Rig:
    store = Store.open(data_dir)
    clock = SimClock(time_scale)
    han = SimHan.open(data_dir / config.SIM_DIR, time_scale=time_scale, clock=clock)
    published: list = []
    runner = Runner(
        store,
        han.driver(frame_loss=frame_loss, seed=7),
        lambda job_id, msg: published.append((job_id, msg)),
        time_scale=time_scale,
        certificates=load_certificates(store),
    )
    return Rig(store, han, runner, clock, published)


@pytest.fixture
def rig_factory(demo_dir: Path):  # type: ignore[no-untyped-def]
    rigs: list[Rig] = []

    def build(time_scale: float = 1000.0, frame_loss: float = 0.0) -> Rig:
        rig = make_rig(demo_dir, time_scale, frame_loss)
        rigs.append(rig)
        return rig

    yield build
    for rig in rigs:
        asyncio.run(rig.runner.disconnect())
        rig.han.close()
        rig.store.close()


async def connect(rig: Rig, job_id: str) -> None:
    hub = rig.job(job_id)["expected_hub_id"]
    rig.han.power_cycle(hub)
    await rig.runner.connect(job_id, hub)
