"""A long fast-mode day: many jobs with faults, and what the terminal looks like after.

``python -m webapp.testing.soak --jobs 1000`` builds a street of simulated homes, runs
every job through one station (as the server does) with frame loss and dropped links,
resuming each stop as an installer would, then reports memory, open files and threads
at the start and the end, and the count of commands executed twice and answers lost
(both must be zero).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import resource
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from webapp import config
from webapp.auth.users import INSTALLER, add_user
from webapp.jobs.loading import JobSpec, add_jobs
from webapp.sim.catalogue import CCS01_ESME, ECS17B, ECS70, device_set_of, service_requests_for
from webapp.sim.demo import DEMO_SUPPLIER_EUI
from webapp.sim.han.han import SimHan
from webapp.sim.pki import TestPki
from webapp.station import Station
from webapp.store.db import Store
from webapp.zigbee.drivers.base import RadioError

JOBS_PER_SITE = 20
STEPS = (CCS01_ESME, ECS70, ECS17B)
FRAME_LOSS = 0.10
DROP_SHARE = 0.10  # jobs whose link drops part-way
log = logging.getLogger(__name__)

MAX_RESUMES = 8
TIME_SCALE = 1000.0


def _vitals() -> dict[str, Any]:
    with open("/proc/self/status") as fh:
        status = dict(line.split(":", 1) for line in fh if ":" in line)
    return {
        "rss_mib": int(status["VmRSS"].split()[0]) / 1024,
        "open_fds": len(os.listdir("/proc/self/fd")),
        "threads": threading.active_count(),
        "os_threads": int(status["Threads"]),
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def build_day(data_dir: Path, jobs: int, seed: int) -> list[str]:
    from cryptography.hazmat.primitives import serialization

    store = Store.open(data_dir)
    pki = TestPki.load_or_create(config.ensure_private_dir(data_dir / config.PKI_DIR))
    supplier = pki.issue(bytes.fromhex(DEMO_SUPPLIER_EUI), "ds")
    han = SimHan.create(data_dir / config.SIM_DIR, seed=seed)
    specs, certs = [], {}
    now = datetime.now(UTC)
    counter = int(time.time()) * 1000
    for site_no in range((jobs + JOBS_PER_SITE - 1) // JOBS_PER_SITE):
        site = han.add_site(
            name=f"{site_no + 1} Soak Street", seed=seed + site_no, neighbours=0, unknown_networks=0
        )
        for eui in (site.chf_id, site.esme_id):
            certs[eui] = han.device_certificate_pem(eui).decode()
        for k in range(min(JOBS_PER_SITE, jobs - len(specs))):
            srs, device_set = service_requests_for(
                han, supplier, device_set_of(site), STEPS, counter, now
            )
            counter += len(srs)
            specs.append(
                JobSpec(
                    f"S{site_no:03d}-{k:02d}",
                    site.name,
                    site.name,
                    f"{site_no:013d}",
                    DEMO_SUPPLIER_EUI,
                    date.today().isoformat(),
                    "soak",
                    srs,
                    [device_set],
                )
            )
    with store.write() as db:
        add_user(db, "soak", INSTALLER, "123456")
        db["suppliers"].insert(
            {
                "eui": DEMO_SUPPLIER_EUI,
                "name": "soak",
                "certificate_pem": supplier.certificate.public_bytes(
                    serialization.Encoding.PEM
                ).decode(),
            }
        )
        for eui, pem in certs.items():
            db["device_certificates"].insert({"eui": eui, "certificate_pem": pem})
        add_jobs(db, specs)
    han.close()
    store.close()
    return [s.id for s in specs]


async def run_day(data_dir: Path, job_ids: list[str], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    han = SimHan.open(data_dir / config.SIM_DIR, time_scale=TIME_SCALE)
    station = await Station.open(
        data_dir,
        driver=han.driver(frame_loss=FRAME_LOSS, seed=seed),
        han=han,
        time_scale=TIME_SCALE,
    )
    store, runner = station.store, station.runner
    stops = connects_failed = 0
    before = _vitals()
    started = time.monotonic()
    try:
        for job_id in job_ids:
            hub = store.reader()["jobs"].get(job_id)["expected_hub_id"]
            for attempt in range(MAX_RESUMES):
                han.power_cycle(hub)
                try:
                    await runner.connect(job_id, hub)
                except RadioError as exc:  # the installer presses Connect again
                    log.info("connect failed for job %s: %s", job_id, exc)
                    connects_failed += 1
                    continue
                if attempt == 0 and rng.random() < DROP_SHARE:
                    runner.link.drop_link(after_frames=rng.randint(1, 8))
                await runner.start(job_id)
                await runner.wait(job_id)
                if store.reader()["jobs"].get(job_id)["status"] != "paused":
                    break
                stops += 1
            await runner.disconnect()
        after = _vitals()
        elapsed = time.monotonic() - started
        executions = {(r["device"], r["counter"]): r["executions"] for r in han.device_log()}
        db = store.reader()
        commands = list(db.query("SELECT id, recipient, counter, state FROM commands"))
        answers = {
            r[0]: r[1]
            for r in db.execute(
                "SELECT command_id, count(*) FROM responses WHERE duplicate_of IS NULL "
                "GROUP BY command_id"
            )
        }
        statuses = {
            r[0]: r[1] for r in db.execute("SELECT status, count(*) FROM jobs GROUP BY status")
        }
    finally:
        await station.close()
    return {
        "jobs": len(job_ids),
        "commands": len(commands),
        "seconds": round(elapsed, 1),
        "job_statuses": statuses,
        "resumable_stops_resumed": stops,
        "connects_failed_and_retried": connects_failed,
        "commands_executed_twice": sum(
            1 for c in commands if executions.get((c["recipient"], c["counter"]), 0) > 1
        ),
        "answers_lost": sum(
            1 for c in commands if c["state"] != "answered" or answers.get(c["id"], 0) == 0
        ),
        "answers_doubled": sum(1 for c in commands if answers.get(c["id"], 0) > 1),
        "start": before,
        "end": after,
        "rss_growth_mib": round(after["rss_mib"] - before["rss_mib"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hht-soak-") as tmp:
        data_dir = Path(tmp)
        job_ids = build_day(data_dir, args.jobs, args.seed)
        report = asyncio.run(run_day(data_dir, job_ids, args.seed))
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))
    bad = report["commands_executed_twice"] or report["answers_lost"] or report["answers_doubled"]
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
