"""The pages of a maintenance visit: the kind said on the job page, the meter-menu steps
with the visit PIN on the hub page (for its installer only), the simulator's meter menu,
a close-out that owes no hub status, and the supervisor's view of visits by kind and site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import DEMO_INSTALLER_2, login
from webapp.sim.demo import demo_visits
from webapp.web.context import station


@pytest.fixture
def visit(demo_dir: Path) -> dict[str, str]:
    return next(v for v in demo_visits(demo_dir) if v["site"] == "5 Elm Row")


def test_the_job_page_says_the_kind_of_visit(app, client, demo_jobs, visit):
    login(client, "installer")
    page = client.get(f"/i/jobs/{visit['job']}").get_data(as_text=True)
    assert 'data-kind="maintenance"' in page and "Maintenance visit" in page
    install = client.get(f"/i/jobs/{demo_jobs[0]['id']}").get_data(as_text=True)
    assert 'data-kind="install"' in install and "Installation" in install


def test_the_hub_page_gives_the_meter_menu_steps_with_the_pin(app, client, demo_jobs, visit):
    login(client, "installer")
    page = client.get(f"/i/jobs/{visit['job']}/hub").get_data(as_text=True)
    steps = re.search(r'<ol id="menu-steps">(.*?)</ol>', page, re.S)
    assert steps and f"Type the visit PIN {visit['pin']}" in steps.group(1)
    assert "INSTALLER MENU" in steps.group(1)
    assert "lose their link to the supplier" in page  # power-cycling's consequence
    install = client.get(f"/i/jobs/{demo_jobs[0]['id']}/hub").get_data(as_text=True)
    assert 'id="window-help"' not in install


def test_another_installer_never_sees_the_pin(app, client, visit):
    login(client, "installer", DEMO_INSTALLER_2)
    response = client.get(f"/i/jobs/{visit['job']}/hub")
    assert response.status_code == 404 and visit["pin"] not in response.get_data(as_text=True)


def test_the_simulators_meter_menu_opens_the_window_and_notes_no_pin(app, client, visit):
    token = login(client, "installer")
    url = f"/api/jobs/{visit['job']}/sim/meter-menu"
    headers = {"X-CSRF-Token": token}
    wrong = client.post(url, json={"meter": "esme", "pin": "1"}, headers=headers)
    assert wrong.get_json() == {"outcome": "wrong-pin", "display": "WRONG PIN 1/3"}
    right = client.post(url, json={"meter": "esme"}, headers=headers)  # the visit's own PIN
    assert right.get_json()["display"] == "WINDOW OPEN 30 MIN"
    assert client.post(url, json={"meter": "ihd"}, headers=headers).status_code == 400
    with app.app_context():
        assert station().han.hub_status(visit["hub"])["interpan_open"]
        events = station().store.reader().execute("SELECT message FROM job_events").fetchall()
    notes = [e[0] for e in events if "Installer menu" in e[0]]
    assert len(notes) == 2 and all(visit["pin"] not in e[0] for e in events)


def _finish(app, job_id: str) -> None:
    with app.app_context(), station().store.write() as db:
        hub = db["jobs"].get(job_id)["expected_hub_id"]
        db["jobs"].update(
            job_id,
            {"status": "completed", "connected_hub_id": hub, "finished_at": "2026-12-05T10:00:00"},
        )


def test_a_maintenance_close_out_owes_no_hub_status(app, client, visit):
    token = login(client, "installer")
    _finish(app, visit["job"])
    url = f"/i/jobs/{visit['job']}/finish"
    form = client.get(url).get_data(as_text=True)
    assert 'id="visit-closeout"' in form and 'id="hub-install"' not in form
    assert re.search(r'name="replaced_esme" value="yes" checked', form)  # from the plan
    refused = client.post(url, data={"csrf_token": token, "hub_in_place": "no"})
    assert refused.status_code == 400 and "what is wrong with the hub" in refused.text
    done = client.post(
        url, data={"csrf_token": token, "hub_in_place": "yes", "replaced_esme": "yes"}
    )
    assert done.status_code == 302
    summary = client.get(f"/i/jobs/{visit['job']}/summary").get_data(as_text=True)
    assert "Maintenance visit: hub still in place and working; replaced: electricity meter" in (
        summary
    )
    from webapp.jobs.closeout import hub_status_due

    with app.app_context():
        assert not hub_status_due(station().store.reader()["jobs"].get(visit["job"]))


def test_the_supervisor_sees_visits_by_kind_and_the_sites_other_visits(
    app, client, demo_jobs, visit
):
    login(client, "supervisor")
    ids = re.findall(r'<tr data-job="([^"]+)"', client.get("/s/?kind=maintenance").text)
    assert visit["job"] in ids
    assert set(ids) == {j["id"] for j in demo_jobs if j["kind"] == "maintenance"}
    everything = client.get("/s/").text
    assert 'data-label="Visit"' in everything and "Maintenance visit" in everything
    # an earlier visit to the same MPxN is linked from the job page
    with app.app_context(), station().store.write() as db:
        db["jobs"].update(demo_jobs[0]["id"], {"mpxn": "1012345678925"})
    page = client.get(f"/s/jobs/{visit['job']}").text
    assert 'id="site-visits"' in page and f'/s/jobs/{demo_jobs[0]["id"]}"' in page
    assert visit["pin"] not in page
