"""Work-pack figures for ``make bench``: build, verify-and-load and unload times."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from webapp import config
from webapp.cli.run_job import run_job_headless
from webapp.identity import terminal_identity
from webapp.sim.demo import create_demo
from webapp.sim.han.han import SimHan
from webapp.sim.packs import build_pack
from webapp.store.db import Store
from webapp.workpack.load import load_pack
from webapp.workpack.unload import make_unload

BENCH_JOBS = 100
RUN_JOBS = 10
STEPS = ["CCS01_ESME", "ECS70", "CS03A1", "ECS01a", "ECS17b", "ECS52"]


def _power_on_hub(data_dir: Path, job_id: str) -> None:
    """A fresh install: the job's hub has just been powered on, so its pairing window is
    open however long the build and load above took in simulated time."""
    store = Store.open(data_dir)
    try:
        hub_id = store.reader()["jobs"].get(job_id)["expected_hub_id"]
    finally:
        store.close()
    han = SimHan.open(data_dir / config.SIM_DIR)
    try:
        han.power_cycle(hub_id)
    finally:
        han.close()


def workpack_figures(jobs: int = BENCH_JOBS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        create_demo(data_dir)
        spec = {
            "pack_id": "BENCH",
            "supplier": {"eui": "90B3D51F30DE0001", "name": "Demo Energy Supply Ltd"},
            "jobs": [
                {
                    "id": f"B{n:04d}",
                    "site": f"{n} Bench Street",
                    "address": f"{n} Bench Street",
                    "mpxn": f"{n:013d}",
                    "appointment": "2026-11-24",
                    "assignee": "alex",
                    "steps": STEPS,
                    "hub_install": {"chf_location": "Deep indoors", "aerial_install": False},
                    "device_sets": [{"sim_site": f"{n} Bench Street"}],
                }
                for n in range(1, jobs + 1)
            ],
        }
        started = time.perf_counter()
        data = build_pack(spec, data_dir).data()
        build_s = time.perf_counter() - started
        store = Store.open(data_dir)
        try:
            started = time.perf_counter()
            result = load_pack(store, data, source="bench", actor="bench")
            load_s = time.perf_counter() - started
        finally:
            store.close()
        for job_id in result.job_ids[:RUN_JOBS]:
            _power_on_hub(data_dir, job_id)
            asyncio.run(run_job_headless(data_dir, job_id, 1000.0))
        store = Store.open(data_dir)
        try:
            started = time.perf_counter()
            made = make_unload(store, "90B3D51F30DE0001", terminal_identity(data_dir), actor="b")
            unload_s = time.perf_counter() - started
        finally:
            store.close()
    return {
        "jobs": jobs,
        "commands": result.commands,
        "pack_bytes": len(data),
        "build_seconds": round(build_s, 3),
        "verify_and_load_seconds": round(load_s, 3),
        "load_ms_per_command": round(load_s * 1000 / result.commands, 3),
        "unload_responses": made.responses,
        "unload_seconds": round(unload_s, 3),
    }
