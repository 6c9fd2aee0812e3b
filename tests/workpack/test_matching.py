"""Candidate device sets: only the set whose hub the HHT connected to is ever sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.workpack.conftest import job_spec, pack_spec
from webapp.jobs.matching import match_device_set
from webapp.jobs.runner import RunnerError
from webapp.station import Station
from webapp.workpack.load import load_pack

FAKE = {
    "hub": "00DB00000000F001",
    "gpf": "00DB00000000F001",
    "chf": "00DB00000000F000",
    "esme": "70B3D50000000F01",
    "gsme": "70B3D50000000F02",
    "ihd": "70B3D50000000F03",
}


def _sets(*hubs_and_meters: tuple[str, str]) -> list[dict]:
    return [
        {"id": n, "label": "ABC"[n], "hub_id": hub, "devices": {"hub": hub, "esme": esme}}
        for n, (hub, esme) in enumerate(hubs_and_meters)
    ]


def test_match_by_hub() -> None:
    sets = _sets(("H1", "E1"), ("H2", "E2"), ("H3", "E3"))
    assert match_device_set(sets, "h2").chosen["label"] == "B"
    none = match_device_set(sets, "H9")
    assert none.chosen is None and "none of this job's device sets" in none.message
    assert "site survey" in none.message


def test_same_hub_needs_the_meters() -> None:
    sets = _sets(("H1", "E1"), ("H1", "E2"))
    ambiguous = match_device_set(sets, "H1")
    assert ambiguous.chosen is None and "scan or type the meter ids" in ambiguous.message
    assert match_device_set(sets, "H1", {"e2"}).chosen["label"] == "B"
    wrong = match_device_set(sets, "H1", {"E7"})
    assert wrong.chosen is None and "are not in the device set" in wrong.message


@pytest.fixture
def three_sets(store, build):  # type: ignore[no-untyped-def]
    job = job_spec(
        "TS1",
        "1 Three Road",
        device_sets=[
            {"devices": FAKE, "label": "A"},
            {"sim_site": "1 Three Road", "label": "B"},
            {"sim_site": "2 Three Road", "label": "C"},
        ],
    )
    load_pack(store, build(pack_spec(job)).data(), source="t", actor="t")
    db = store.reader()
    return {r["label"]: r for r in db.query("SELECT * FROM device_sets WHERE job_id = 'TS1'")}


async def _connect_and_run(data_dir: Path, hub: str) -> None:
    station = await Station.open(data_dir, time_scale=1000.0)
    try:
        await station.runner.connect("TS1", hub)
        await station.runner.start("TS1")
        await station.runner.wait("TS1")
    finally:
        await station.close()


def test_only_the_set_matching_the_connected_hub_runs(three_sets, store, demo_dir) -> None:
    hub_b = three_sets["B"]["hub_id"]
    asyncio.run(_connect_and_run(demo_dir, hub_b))
    db = store.reader()
    job = db["jobs"].get("TS1")
    assert job["status"] == "completed"
    assert job["device_set_id"] == three_sets["B"]["id"] and job["expected_hub_id"] == hub_b
    by_set = {}
    for row in db.query("SELECT device_set_id, state, attempts FROM commands WHERE job_id='TS1'"):
        by_set.setdefault(row["device_set_id"], []).append(row)
    assert all(c["state"] == "answered" for c in by_set[three_sets["B"]["id"]])
    for other in ("A", "C"):
        assert all(
            c["state"] == "queued" and c["attempts"] == 0 for c in by_set[three_sets[other]["id"]]
        )
    from webapp import config
    from webapp.sim.han.han import SimHan

    han = SimHan.open(demo_dir / config.SIM_DIR)
    try:
        log = han.device_log()
        set_c = three_sets["C"]
    finally:
        han.close()
    import json

    executed = {r["device"] for r in log}
    devices_b = set(json.loads(three_sets["B"]["devices"]).values())
    assert executed & devices_b  # set B's commands did run
    assert not executed & set(json.loads(set_c["devices"]).values())
    assert not executed & set(FAKE.values())


def test_a_hub_in_no_set_sends_nothing(three_sets, store, demo_dir) -> None:
    with pytest.raises(RunnerError, match="none of this job's device sets"):
        asyncio.run(_connect_and_run(demo_dir, "00DB0000000000AA"))
    db = store.reader()
    assert db["jobs"].get("TS1")["device_set_id"] is None
    assert not db.execute(
        "SELECT count(*) FROM commands WHERE job_id = 'TS1' AND attempts > 0"
    ).fetchone()[0]
    kinds = [r[0] for r in db.execute("SELECT kind FROM job_events WHERE job_id = 'TS1'")]
    assert "no-match" in kinds


def test_once_chosen_the_set_is_fixed(three_sets, store, demo_dir) -> None:
    asyncio.run(_connect_and_run(demo_dir, three_sets["B"]["hub_id"]))
    with pytest.raises(RunnerError, match="is not this job's hub"):
        asyncio.run(_connect_and_run(demo_dir, three_sets["C"]["hub_id"]))
