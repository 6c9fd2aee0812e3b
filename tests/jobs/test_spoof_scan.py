"""A spoof storm at the doorstep: the scan stays usable and the job still runs."""

from __future__ import annotations

import asyncio

from tests.jobs.conftest import connect


def test_spoof_storm_scan_and_job(rig_factory, demo_jobs) -> None:
    rig = rig_factory()
    job = demo_jobs[1]
    hub = job["expected_hub_id"]
    site = rig.han.air.site_of(hub)
    rig.han.frames.add_spoof_storm(site, count=50, pests=5)

    async def scenario() -> list[dict]:
        beacons = await rig.runner.scan(job["id"])
        await connect(rig, job["id"])
        await rig.runner.start(job["id"])
        await rig.runner.wait(job["id"])
        return beacons

    beacons = asyncio.run(scenario())
    assert len(beacons) > 50
    assert beacons[0]["expected"] and beacons[0]["extended_pan_id"] == hub
    assert [b["expected"] for b in beacons].count(True) == 1  # one entry to press
    spoofs = [b for b in beacons if b["flag"] == "spoof"]
    assert len(spoofs) == 10 and all(b["extended_pan_id"] == hub for b in spoofs)
    assert rig.job(job["id"])["status"] == "completed"
