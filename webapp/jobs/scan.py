"""Sorting the networks an active scan heard: the job's hub first, the others flagged.

Flags: ``expected`` (a candidate hub of this job), ``other-job`` (the hub of
another open job), ``neighbour`` (open to joining: someone else's), ``unknown``,
and ``spoof`` (a second beacon claiming an expected hub id; the strongest keeps
``expected``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from webapp.jobs.states import OPEN_JOB_STATUSES, sql_in
from webapp.zigbee.drivers.base import Beacon


def hubs_of_open_jobs(db: Database) -> set[str]:
    """Hub ids of every device set of a job that may still run."""
    open_in, statuses = sql_in(OPEN_JOB_STATUSES)
    rows = db.execute(
        "SELECT DISTINCT d.hub_id FROM device_sets d JOIN jobs j ON j.id = d.job_id "
        f"WHERE j.status IN {open_in}",
        statuses,
    )
    return {row[0].upper() for row in rows if row[0]}


def _flag(beacon: Beacon, expected: bool, known_hubs: set[str]) -> str:
    if expected:
        return "expected"
    if beacon.extended_pan_id.upper() in known_hubs:
        return "other-job"
    if beacon.permit_join or beacon.interpan_open:
        return "neighbour"
    return "unknown"


def classify_beacons(
    beacons: Iterable[Beacon],
    candidate_hubs: Iterable[str],
    known_hubs: set[str],
    bands: Iterable[str],
) -> list[dict[str, Any]]:
    """Each beacon as a dict with ``expected``, ``flag`` and ``supported`` added, the
    expected hub first, then by link quality."""
    expected_hubs = {h.upper() for h in candidate_hubs}
    supported_bands = set(bands)
    out = []
    for beacon in beacons:
        d = beacon.to_dict()
        d["expected"] = beacon.extended_pan_id.upper() in expected_hubs
        d["flag"] = _flag(beacon, d["expected"], known_hubs)
        d["supported"] = beacon.band in supported_bands
        out.append(d)
    for hub in expected_hubs:
        claims = [d for d in out if d["expected"] and d["extended_pan_id"].upper() == hub]
        for extra in sorted(claims, key=lambda d: -d["lqi"])[1:]:
            extra["expected"], extra["flag"] = False, "spoof"
    out.sort(key=lambda d: (not d["expected"], -d["lqi"]))
    return out
