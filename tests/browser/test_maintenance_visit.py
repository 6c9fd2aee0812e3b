"""The doorstep at an installed home, on a 360x640 phone: the hub is heard with its window
closed, so the hub page gives the meter's installer menu step by step with the visit's PIN;
once the simulated meter's menu has been used, the window's countdown and Connect."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.pages import INSTALLER_TARGET_PX, page_problems
from webapp.sim.demo import DEMO_INSTALLER, demo_visits

pytestmark = pytest.mark.browser

SMALL_PHONE = {"width": 360, "height": 640}


def test_the_meter_menu_steps_then_the_countdown_and_connect(
    browser, server: str, demo_dir: Path, shots
) -> None:
    visit = next(v for v in demo_visits(demo_dir) if v["site"] == "5 Elm Row")
    context = browser.new_context(
        viewport=SMALL_PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        log_in(page, server, "installer", DEMO_INSTALLER)
        page.wait_for_url(f"{server}/i/**")
        page.goto(f"{server}/i/jobs/{visit['job']}")
        expect(page.locator("#job-kind")).to_contain_text("Maintenance visit")
        page.click("#find-hub")
        page.click("#scan")
        beacon = page.locator(f"li.beacon.expected[data-hub='{visit['hub']}']")
        expect(beacon).to_be_visible()
        expect(beacon.get_by_role("button", name="Connect")).to_be_disabled()
        expect(beacon).to_contain_text("installer menu")
        help_box = page.locator("#window-help")
        expect(help_box).to_be_visible()
        expect(page.locator("#menu-steps")).to_contain_text(f"Type the visit PIN {visit['pin']}")
        expect(page.locator("#last-resort")).to_contain_text("lose their link to the supplier")
        shots(page, "window-closed")
        problems = page_problems(page, INSTALLER_TARGET_PX)
        assert not problems, "\n".join(problems)
        page.set_viewport_size(SMALL_PHONE)

        page.click("#meter-menu")  # the simulated meter: the installer types the PIN there
        expect(page.locator("#meter-display")).to_contain_text("WINDOW OPEN 30 MIN")
        expect(page.locator("#window-open")).to_contain_text("left to connect")
        expect(help_box).to_be_hidden()
        connect = beacon.get_by_role("button", name="Connect")
        expect(connect).to_be_enabled()
        shots(page, "window-open")
        problems = page_problems(page, INSTALLER_TARGET_PX)
        assert not problems, "\n".join(problems)
        page.set_viewport_size(SMALL_PHONE)
        connect.click()
        expect(page.locator("#hub-heading")).to_have_text("Connected to the hub")
        expect(page.locator("#go-run")).to_be_visible()
    finally:
        context.close()
