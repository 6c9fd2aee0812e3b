"""A supervisor uploads a work pack and sees its jobs; a tampered one is refused with reasons."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.workpack.conftest import job_spec, pack_spec, unpack
from webapp.sim.demo import DEMO_SUPERVISOR
from webapp.sim.packs import build_pack
from webapp.workpack.archive import write_archive

pytestmark = pytest.mark.browser


def test_supervisor_uploads_a_pack_then_a_tampered_one(server, phone, shots, demo_dir, tmp_path):
    spec = pack_spec(
        job_spec("UP1", "1 Upload Road"),
        job_spec(
            "UP2",
            "2 Upload Road",
            device_sets=[{"sim_site": "2 Upload Road"}, {"sim_site": "3 Upload Road"}],
        ),
    )
    good = tmp_path / "good-pack.zip"
    good.write_bytes(build_pack(spec, demo_dir).data())
    members, manifest = unpack(
        build_pack(pack_spec(job_spec("UP3", "4 Upload Road")), demo_dir).data()
    )
    name = manifest["jobs"][0]["device_sets"][0]["commands"][0][0]
    members[name] = members[name].replace(b"I0", b"I0 ", 1)
    bad = tmp_path / "tampered-pack.zip"
    bad.write_bytes(write_archive(members))

    page = phone
    log_in(page, server, "supervisor", DEMO_SUPERVISOR)
    page.goto(f"{server}/s/workpacks")
    expect(page.locator("h1")).to_contain_text("Work packs")
    page.set_input_files("#pack", str(good))
    page.click("#upload button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Loaded work pack")
    expect(page.locator("#loaded tr[data-job='UP1']")).to_be_visible()
    expect(page.locator("#loaded tr[data-job='UP2']")).to_contain_text("2")  # two device sets
    shots(page, "pack-loaded")

    page.set_input_files("#pack", str(bad))
    page.click("#upload button[type=submit]")
    problems = page.locator("#problems")
    expect(problems).to_contain_text("Work pack refused: nothing was loaded.")
    expect(problems).to_contain_text(f"{name}: its SHA-256 is not the one the manifest lists")
    shots(page, "pack-refused")
    page.goto(f"{server}/s/")
    expect(page.locator("tr[data-job='UP1']")).to_be_visible()
    expect(page.locator("tr[data-job='UP3']")).to_have_count(0)


def test_installer_sees_the_candidate_sets_and_can_survey(server, phone, shots, demo_jobs):
    from webapp.sim.demo import DEMO_INSTALLER_2

    job = next(j for j in demo_jobs if j["site"] == "3 Mill Lane")  # two candidate sets
    page = phone
    log_in(page, server, "installer", DEMO_INSTALLER_2)
    page.click(f"[data-job='{job['id']}']")
    expect(page.locator(".device-set")).to_have_count(2)
    expect(page.locator(".device-set[data-set='A']")).to_contain_text("Set A")
    shots(page, "candidate-sets")
    page.click("#survey")
    expect(page.locator("h1")).to_contain_text("Site survey")
    page.fill("#sv-esme", "70B3D5FF00000001")
    with page.expect_download() as download:
        page.click("#survey-form button[type=submit]")
    from webapp.workpack.survey import verify_survey

    survey = verify_survey(download.value.path().read_bytes())
    assert survey["mpxn"] == job["mpxn"] and survey["meters_found"]["esme"] == "70B3D5FF00000001"
    shots(page, "survey")
