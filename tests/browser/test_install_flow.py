"""An installer runs a whole job from a phone, through the close-out to the next job; the
unload then holds one hub status with what was entered; a supervisor finds the job."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.pages import INSTALLER_TARGET_PX, PHONES, page_problems
from webapp.duis import parse_request
from webapp.sim.demo import DEMO_INSTALLER, DEMO_SUPERVISOR

pytestmark = pytest.mark.browser

JOB_SECONDS = 120
CAPTURE_LINK_TEXT = re.compile(
    r"Radio capture \(Wireshark\) · \d+ connections? · [\d.]+ (Bytes|KiB|MiB)"
)
#: Words a paused job must not show anywhere on its run page: they say it is still going.
STILL_GOING = ("In progress", "Awaiting answer", "Sending")


def _visible_above_action_bar(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    """``selector`` is on screen as the page stands (no scrolling), not under the bottom
    action bar."""
    box = page.locator(selector).bounding_box()
    bar = page.locator(".action-bar").bounding_box()
    assert box is not None and bar is not None
    assert box["y"] >= 0, f"{selector} starts above the screen ({box['y']:.0f} px)"
    assert box["y"] + box["height"] <= bar["y"] + 0.5, (
        f"{selector} ends at {box['y'] + box['height']:.0f} px, under the action bar at "
        f"{bar['y']:.0f} px of a {page.viewport_size['height']} px screen"
    )


def _in_viewport(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    box = page.locator(selector).bounding_box()
    assert box is not None
    height = page.viewport_size["height"]
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, (
        f"{selector} at {box['y']:.0f}-{box['y'] + box['height']:.0f} px, screen {height} px"
    )


def _wait_for_the_gas_meter_prompt(page) -> None:  # type: ignore[no-untyped-def]
    """The gas meter's button is offered; if the job ends first, say what the page showed."""
    either = page.locator("#wake:not(.hidden), #go-finish:not(.hidden)")
    expect(either.first).to_be_visible(timeout=JOB_SECONDS * 1000)
    assert page.locator("#wake").is_visible(), (
        "the job ended with no gas-meter prompt; log:\n" + page.locator("#log").inner_text()
    )


def _find_and_connect(page, job: dict) -> None:  # type: ignore[no-untyped-def]
    page.click(f"[data-job='{job['id']}']")
    _in_viewport(page, "#find-hub")  # the main action, without scrolling
    page.click("#find-hub")
    page.click("#scan")
    expected = page.locator(f"li.beacon.expected[data-hub='{job['expected_hub_id']}']")
    expect(expected).to_be_visible()
    if page.locator("#power-cycle").count():
        page.click("#power-cycle")
        expect(page.locator("#power-cycle")).to_have_count(0)
    expected.get_by_role("button", name="Connect").click()
    expect(page.locator("#connect-card")).to_be_visible()
    _visible_above_action_bar(page, "#stages")  # progress where the installer tapped
    expect(page.locator("#go-run")).to_be_visible()
    expect(page.locator("#hub-heading")).to_have_text("Connected to the hub")
    expect(page.locator("#stages li.done")).to_have_count(6)
    _visible_above_action_bar(page, "#stages")
    _in_viewport(page, "#go-run")


@pytest.mark.parametrize("size", PHONES, ids=lambda s: f"{s['width']}x{s['height']}")
def test_connect_progress_and_the_next_action_stay_in_view(
    server, browser, demo_jobs, shots, size
) -> None:
    context = browser.new_context(viewport=size, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    job = demo_jobs[1]
    log_in(page, server, "installer", DEMO_INSTALLER)
    _find_and_connect(page, job)
    shots(page, f"connected-{size['width']}")
    assert page_problems(page, INSTALLER_TARGET_PX) == []
    page.click("#go-run")
    expect(page.locator("#start")).to_be_visible()
    _in_viewport(page, "#start")
    page.go_back()  # back to the hub page: it still says connected, with the way on
    expect(page.locator("#hub-heading")).to_have_text("Connected to the hub")
    expect(page.locator("#go-run")).to_be_visible()
    page.click(".back")  # and the job page's one action is now to run the job
    expect(page.locator("[data-main-action]")).to_have_text("Run the job")
    context.close()


@pytest.mark.parametrize("size", PHONES, ids=lambda s: f"{s['width']}x{s['height']}")
def test_a_paused_job_says_one_thing(server, browser, demo_jobs, shots, size) -> None:
    context = browser.new_context(viewport=size, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    job = demo_jobs[0]  # its gas meter keeps a command waiting: pause while it waits
    log_in(page, server, "installer", DEMO_INSTALLER)
    _find_and_connect(page, job)
    page.click("#go-run")
    page.click("#start")
    expect(page.locator("#job-status")).to_have_text("Running")
    _wait_for_the_gas_meter_prompt(page)
    page.click("#pause")
    expect(page.locator("#job-status")).to_have_text("Paused")
    expect(page.locator("#start")).to_have_text("Resume")
    expect(page.locator(".cmd[data-state='delivered'] .badge")).to_contain_text("Paused")
    shots(page, f"paused-{size['width']}")
    shown = page.locator("#srs").inner_text() + page.locator("#now").inner_text()
    assert not [w for w in STILL_GOING if w in shown], shown
    page.reload()  # the same after a reload, from the server's snapshot alone
    expect(page.locator("#job-status")).to_have_text("Paused")
    expect(page.locator(".sr .badge", has_text="Paused").first).to_be_visible()
    shown = page.locator("#srs").inner_text()
    assert not [w for w in STILL_GOING if w in shown], shown
    context.close()


def test_installer_runs_a_job_to_the_next_and_the_unload_holds_one_hub_status(
    server, phone, shots, demo_jobs
) -> None:
    job = demo_jobs[0]
    page = phone
    log_in(page, server, "installer", DEMO_INSTALLER)
    expect(page.locator("h1")).to_contain_text("Today's jobs")
    shots(page, "jobs")
    _find_and_connect(page, job)
    shots(page, "connected")

    page.click("#go-run")
    page.click("#start")
    expect(page.locator("#job-status")).to_have_text("Running")
    # the gas meter sleeps: the page says so and (in the simulator) offers its button
    _wait_for_the_gas_meter_prompt(page)
    expect(page.locator("#now")).to_contain_text("gas meter")
    shots(page, "waiting-for-gas-meter")
    page.reload()  # a refresh mid-job restores the whole state from the server
    expect(page.locator("#now")).to_contain_text("gas meter")
    page.click("#wake")
    expect(page.locator("#wake")).to_be_hidden()  # pressed: the prompt goes at once
    expect(page.locator("#go-finish")).to_be_visible(timeout=JOB_SECONDS * 1000)
    expect(page.locator("#job-status")).to_have_text("Completed")
    total = page.locator(".cmd").count()
    assert total > 0
    expect(page.locator(".cmd[data-state='answered']")).to_have_count(total)
    expect(page.locator("#summary")).to_contain_text(f"{total} done")
    _in_viewport(page, "#go-finish")
    shots(page, "completed")
    # the log speaks to the installer: use-case codes only with "Show codes and ids"
    log = page.locator("#log")
    expect(log).to_contain_text("to the electricity meter")
    assert not re.search(r"\((?:E|G|C)CS\d\d", log.inner_text()), log.inner_text()
    page.locator("[data-details-toggle]").first.click()
    expect(log).to_contain_text(re.compile(r"\((?:E|G|C)CS\d\d"))
    page.locator("[data-details-toggle]").first.click()

    page.click("#go-finish")  # the close-out: nothing answered for the installer
    expect(page.locator("h1")).to_have_text("Hub installation")
    assert page.locator("#hub-install input:checked").count() == 0
    page.click("#record")  # nothing chosen: refused, and said why
    expect(page.locator("#finish-problems")).to_contain_text("whether the hub is installed")
    page.check("input[name=installed][value=yes]")
    page.select_option("#h-loc", "Basement or Cellar")
    page.check("input[name=aerial_install][value=yes]")
    page.check("input[name=sm_wan][value=yes]")
    expect(page.locator("#h-prem")).to_be_hidden()  # only asked without a signal
    shots(page, "close-out")
    assert page_problems(page, INSTALLER_TARGET_PX) == []
    page.click("#record")
    expect(page.locator("#closeout")).to_have_text(
        "Hub installed: Basement or Cellar, reaches the smart-meter network, external aerial fitted"
    )
    expect(page.locator("#next-job")).to_contain_text("Next job")
    shots(page, "summary")
    page.click("#next-job")
    expect(page.locator("[data-main-action]")).to_have_text("Find the hub")

    page.click("header.top button")  # log out
    log_in(page, server, "supervisor", DEMO_SUPERVISOR)
    page.goto(f"{server}/s/unloads")
    with page.expect_download() as made:
        page.locator("form.make-unload button[type=submit]").first.click()
    with zipfile.ZipFile(io.BytesIO(made.value.path().read_bytes())) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        statuses = manifest["hub_statuses"]
        assert [s["hub"] for s in statuses] == [job["expected_hub_id"]]
        status = parse_request(archive.read(statuses[0]["file"]))
    assert status["service_reference_variant"] == "8.14.1"
    assert status["element"].findtext("{*}CHFLocation") == "Basement or Cellar"
    assert status["element"].findtext("{*}AerialInstall") == "true"

    page.goto(f"{server}/s/")
    page.fill("#f-q", job["mpxn"])
    page.click("#filters button[type=submit]")
    row = page.locator(f"tr[data-job='{job['id']}']")
    expect(row).to_contain_text("Completed")
    shots(page, "history")
    row.get_by_role("link", name=job["id"]).click()
    expect(page.locator("#timeline")).to_contain_text("Every command answered")
    expect(page.locator("#timeline")).to_contain_text("Hub installed: Basement or Cellar")
    expect(page.locator("#commands tr[data-command]")).to_have_count(total)
    expect(page.locator("text=hash chain verified")).to_be_visible()
    capture = page.locator("#capture-download")
    expect(capture).to_have_text(CAPTURE_LINK_TEXT)
    box = capture.bounding_box()
    assert box is not None and box["height"] >= INSTALLER_TARGET_PX
    shots(page, "timeline")
