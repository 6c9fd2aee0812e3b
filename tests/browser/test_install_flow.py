"""An installer runs a whole job from a phone; a supervisor then finds it in history."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from webapp.sim.demo import DEMO_INSTALLER, DEMO_SUPERVISOR

pytestmark = pytest.mark.browser

JOB_SECONDS = 120
MIN_TAP_PX = 44  # the UI rule: every tap target at least this tall
CAPTURE_LINK_TEXT = re.compile(
    r"Radio capture \(Wireshark\) · \d+ connections? · [\d.]+ (Bytes|KiB|MiB)"
)


def test_installer_runs_a_job_and_supervisor_sees_it(server, phone, shots, demo_jobs):
    job = demo_jobs[0]
    page = phone
    log_in(page, server, "installer", DEMO_INSTALLER)
    expect(page.locator("h1")).to_contain_text("Today's jobs")
    shots(page, "jobs")

    page.click(f"[data-job='{job['id']}']")
    expect(page.locator("h1")).to_contain_text(job["site"])
    shots(page, "job-detail")

    page.click("#find-hub")
    page.click("#scan")
    expected = page.locator(f"li.beacon.expected[data-hub='{job['expected_hub_id']}']")
    expect(expected).to_be_visible()
    expect(expected).to_contain_text("This job's hub")
    assert page.locator("li.beacon").count() > 1, "other networks are listed and flagged"
    expect(page.locator("li.beacon.unknown").first).to_contain_text("Unknown network")
    shots(page, "scan")

    if page.locator("#power-cycle").count():
        page.click("#power-cycle")
        expect(page.locator("#power-cycle")).to_have_count(0)
    expected.get_by_role("button", name="Connect").click()
    expect(page.locator("#go-run")).to_be_visible()
    expect(page.locator("#stages li.done")).to_have_count(6)
    shots(page, "connected")

    page.click("#go-run")
    expect(page.locator("#start")).to_be_visible()
    page.click("#start")
    expect(page.locator("#job-status")).to_have_text("Running")
    # the gas meter sleeps: the page says so and (in the simulator) offers its button
    expect(page.locator("#wake")).to_be_visible(timeout=JOB_SECONDS * 1000)
    expect(page.locator("#now")).to_contain_text("gas meter")
    shots(page, "waiting-for-gas-meter")
    page.reload()  # a refresh mid-job restores the whole state from the server
    expect(page.locator("#now")).to_contain_text("gas meter")
    page.click("#wake")
    expect(page.locator("#job-status")).to_have_text("Completed", timeout=JOB_SECONDS * 1000)
    total = page.locator(".cmd").count()
    assert total > 0
    expect(page.locator(".cmd[data-state='answered']")).to_have_count(total)
    expect(page.locator("#summary")).to_contain_text(f"{total} answered")
    shots(page, "completed")

    page.click("header.top button")  # log out
    log_in(page, server, "supervisor", DEMO_SUPERVISOR)
    expect(page.locator("h1")).to_contain_text("Job history")
    page.fill("#f-q", job["mpxn"])
    page.click("#filters button[type=submit]")
    row = page.locator(f"tr[data-job='{job['id']}']")
    expect(row).to_contain_text("Completed")
    shots(page, "history")
    row.get_by_role("link", name=job["id"]).click()
    expect(page.locator("#timeline")).to_contain_text("Every command answered")
    expect(page.locator("#timeline")).to_contain_text(re.compile("Connected to hub"))
    expect(page.locator("#commands tr[data-command]")).to_have_count(total)
    expect(page.locator("text=hash chain verified")).to_be_visible()
    capture = page.locator("#capture-download")
    expect(capture).to_have_text(CAPTURE_LINK_TEXT)
    box = capture.bounding_box()
    assert box is not None and box["height"] >= MIN_TAP_PX
    shots(page, "timeline")
