"""Maintenance visits at installed homes: a closed window stops the job with the meter-menu
instruction; the meter's menu (or the hub's no-WAN policy) reopens it and the job completes;
a replaced meter is gone from the hub's device log and the new one answers; the visit's PIN
never leaves the hub page."""

from __future__ import annotations

import asyncio
import json
import logging
import zipfile
from pathlib import Path

import pytest

from tests.jobs.conftest import assert_exactly_once
from webapp.identity import terminal_identity
from webapp.jobs import closeout, repo
from webapp.jobs.doorstep import MENU_WINDOW_SECONDS
from webapp.sim.demo import demo_visits
from webapp.sim.han.meter_menu import MENU_WINDOW_MINUTES
from webapp.sim.han.window import WAN_LOSS_GRACE_SECONDS
from webapp.store.clock import utc_now
from webapp.workpack.unload import make_unload
from webapp.zigbee.drivers.base import ErrorCode, RadioError

SUPPLIER = "90B3D51F30DE0001"


@pytest.fixture
def visits(demo_dir: Path) -> dict[str, dict[str, str]]:
    """The demo's maintenance visits by site."""
    return {v["site"]: v for v in demo_visits(demo_dir)}


async def _connect_and_run(rig, job_id: str, hub: str) -> None:  # type: ignore[no-untyped-def]
    await rig.runner.connect(job_id, hub)
    await rig.runner.start(job_id)
    await rig.runner.wait(job_id)


def test_the_hht_and_the_simulator_agree_on_the_menus_window() -> None:
    assert MENU_WINDOW_SECONDS == MENU_WINDOW_MINUTES * 60


def test_a_closed_window_names_the_meters_menu_then_the_menu_opens_it(rig_factory, visits):
    rig = rig_factory()
    visit = visits["5 Elm Row"]
    job_id, hub = visit["job"], visit["hub"]
    old_esme = rig.han.site("5 Elm Row").esme_id

    with pytest.raises(RadioError) as info:
        asyncio.run(rig.runner.connect(job_id, hub))
    assert info.value.code is ErrorCode.WINDOW_CLOSED
    assert "installer menu" in info.value.instruction
    assert "Power-cycle" not in info.value.instruction
    assert rig.runner.live(job_id).instruction == info.value.instruction
    assert rig.job(job_id)["status"] == "ready"
    assert not rig.commands(job_id)[0]["attempts"]  # nothing went out

    assert rig.han.meter_menu(hub, "esme", visit["pin"]).outcome == "window-open"
    asyncio.run(_connect_and_run(rig, job_id, hub))

    assert rig.job(job_id)["status"] == "completed"
    assert_exactly_once(rig, job_id)
    new_esme = json.loads(rig.job(job_id)["device_set"])["esme"]
    logged = {d["eui"]: d["kind"] for d in rig.han.chf_device_log(hub)}
    assert old_esme not in logged and logged[new_esme] == "esme"
    answered_by = {
        r["originator"]
        for r in rig.store.reader().query(
            "SELECT r.originator, r.signature FROM responses r JOIN commands c"
            " ON c.id = r.command_id WHERE r.job_id = ? AND c.device_role = 'esme'",
            [job_id],
        )
        if r["signature"] == "valid"
    }
    assert answered_by == {new_esme}


def test_the_old_meter_no_longer_answers_after_its_replacement(rig_factory, visits):
    rig = rig_factory()
    visit = visits["5 Elm Row"]
    old_esme = rig.han.site("5 Elm Row").esme_id
    rig.han.meter_menu(visit["hub"], "esme", visit["pin"])
    asyncio.run(_connect_and_run(rig, visit["job"], visit["hub"]))
    before = len(rig.han.rejections())
    # the job's clock setting, readdressed to the old meter: the hub has no route to it
    new_esme = json.loads(rig.job(visit["job"])["device_set"])["esme"]
    raw = bytes(rig.commands(visit["job"])[2]["raw"])
    readdressed = raw.replace(bytes.fromhex(new_esme), bytes.fromhex(old_esme))
    assert readdressed != raw
    assert rig.han.hubs.submit(visit["hub"], readdressed, "wan") == 0
    dropped = rig.han.rejections()[before:]
    assert [d["reason"] for d in dropped] == ["recipient not in the hub's device log"]
    assert dropped[0]["device"] == old_esme


def test_a_hub_without_wan_opens_its_window_by_itself_and_the_job_completes(rig_factory, visits):
    rig = rig_factory()
    visit = visits["9 Elm Row"]
    with pytest.raises(RadioError):
        asyncio.run(rig.runner.connect(visit["job"], visit["hub"]))
    rig.han.set_wan(visit["hub"], False)
    rig.clock.advance(WAN_LOSS_GRACE_SECONDS)
    asyncio.run(_connect_and_run(rig, visit["job"], visit["hub"]))
    assert rig.job(visit["job"])["status"] == "completed"
    assert_exactly_once(rig, visit["job"])


def test_the_visit_pin_stays_out_of_events_logs_chain_unload_and_snapshots(
    rig_factory, visits, demo_dir, caplog
):
    caplog.set_level(logging.DEBUG)
    rig = rig_factory()
    visit = visits["5 Elm Row"]
    pin, job_id = visit["pin"], visit["job"]
    assert repo.visit_pin(rig.store.reader(), job_id) == pin
    rig.han.meter_menu(visit["hub"], "esme", pin)
    asyncio.run(_connect_and_run(rig, job_id, visit["hub"]))
    record = closeout.parse_maintenance_form({"hub_in_place": "yes", "replaced_esme": "yes"})
    assert not record.problems
    with rig.store.write() as db:
        db["jobs"].update(
            job_id, {"hub_install": closeout.stamp(record.record, by="t", at=utc_now())}
        )
    unload = make_unload(rig.store, SUPPLIER, terminal_identity(demo_dir), actor="test")

    db = rig.store.reader()
    events = json.dumps([dict(r) for r in db.query("SELECT * FROM job_events")])
    assert pin not in events
    assert pin not in caplog.text
    snapshot = json.dumps(repo.job_snapshot(db, job_id), default=str)
    assert pin not in snapshot and "visit_pin" not in snapshot
    assert "visit_pin" not in repo.require_job(db, job_id)
    with zipfile.ZipFile(unload.path) as z:
        names = z.namelist()
        contents = b"".join(z.read(n) for n in names)
    assert "audit/chain.jsonl" in names
    assert pin.encode() not in contents
    # a maintenance visit is not a hub installation: no hub status comes of it
    assert unload.hub_statuses == 0 and not [n for n in names if n.startswith("duis/hub-")]
    assert json.loads(db["jobs"].get(job_id)["hub_install"])["visit"] == "maintenance"


def test_a_maintenance_visit_paused_mid_way_resumes_without_repeating(rig_factory, visits):
    from tests.jobs.conftest import any_answered, until

    rig = rig_factory(time_scale=10.0)
    visit = visits["5 Elm Row"]
    job_id, hub = visit["job"], visit["hub"]
    rig.han.meter_menu(hub, "esme", visit["pin"])

    async def scenario() -> str:
        await rig.runner.connect(job_id, hub)
        await rig.runner.start(job_id)
        await until(rig.runner, any_answered(rig, job_id))
        await rig.runner.pause(job_id)
        await rig.runner.wait(job_id)
        paused = rig.job(job_id)["status"]
        await rig.runner.connect(job_id, hub)  # reconnect, as after a dropped link
        await rig.runner.start(job_id)
        await rig.runner.wait(job_id)
        return paused

    assert asyncio.run(scenario()) == "paused"
    assert rig.job(job_id)["status"] == "completed"
    assert_exactly_once(rig, job_id)
