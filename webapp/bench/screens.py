"""``make screens``: every step of the installer's job, at both phone sizes, and every
supervisor page, at a phone's size and a desk's, as screenshots in one folder, so a reviewer
sees the whole flow at a glance.

A fresh demo terminal is served (``hht serve``, the real front) with Debian's chromium
driven by Playwright. The installer runs a different demo job at each phone size, through
the close-out to the next job; the supervisor then visits each page. Files are written as
``<out>/<who>-<width>x<height>/NN-<step>.png`` and listed at the end.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from webapp.bench.attack import make_demo, running_server
from webapp.bench.chromium import CHROMIUM, CHROMIUM_ARGS
from webapp.sim.demo import DEMO_INSTALLER, DEMO_SUPERVISOR

PHONES = ({"width": 360, "height": 640}, {"width": 390, "height": 844})
DESK = {"width": 1280, "height": 800}
DEFAULT_OUT = Path(".bench/screens")
#: Slow enough that the gas meter sleeps until its button is pressed.
TIME_SCALE = 30.0
STEP_TIMEOUT_MS = 30_000
JOB_TIMEOUT_MS = 180_000
#: The gas meter may wake by itself first: its prompt is waited for this long at most.
GAS_PROMPT_MS = 20_000
SETTLE_MS = 400


class Shooter:
    """Numbered screenshots of one walk into its own folder: the installer's screen as he
    sees it (what is in view is the point), or the supervisor's whole page."""

    def __init__(self, page: Any, folder: Path, *, full_page: bool) -> None:
        self.page, self.folder, self.count, self.full_page = page, folder, 0, full_page
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, step: str) -> None:
        self.count += 1
        self.page.wait_for_timeout(SETTLE_MS)
        name = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=self.full_page)


@contextmanager
def _page(browser: Any, size: dict[str, int], phone: bool) -> Iterator[Any]:
    context = browser.new_context(viewport=size, is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


def _log_in(page: Any, base: str, role: str, who: tuple[str, str, str]) -> None:
    page.goto(f"{base}/login?role={role}")
    page.fill("#username", who[0])
    page.fill("#secret", who[2])
    page.click("button[type=submit]")
    page.wait_for_load_state()


def installer_walk(page: Any, base: str, job_id: str, shot: Callable[[str], None]) -> None:
    """One job from today's list to the next job, a screenshot at every step."""
    from playwright.sync_api import expect

    _log_in(page, base, "installer", DEMO_INSTALLER)
    shot("today's jobs")
    page.click(f"[data-job='{job_id}']")
    shot("the job")
    page.click("#find-hub")
    shot("find the hub")
    page.click("#scan")
    page.wait_for_selector("li.beacon")
    shot("networks heard")
    if page.locator("#power-cycle").count():
        page.click("#power-cycle")
        expect(page.locator("#power-cycle")).to_have_count(0)
        shot("hub switched off and on")
    page.locator("li.beacon.expected").get_by_role("button", name="Connect").click()
    shot("connecting")
    expect(page.locator("#go-run")).to_be_visible()
    shot("connected")
    page.click("#go-run")
    expect(page.locator("#start")).to_be_visible()
    shot("ready to start")
    page.click("#start")
    shot("running")
    wake = page.locator("#wake")
    try:
        wake.wait_for(state="visible", timeout=GAS_PROMPT_MS)
    except Exception:  # the gas meter woke by itself, or the job has none
        pass
    else:
        shot("waiting for the gas meter")
        wake.click()
        shot("gas meter button pressed")
    expect(page.locator("#go-finish")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    shot("every command done")
    page.click("#go-finish")
    shot("hub installation")
    page.check("input[name=installed][value=yes]")
    page.select_option("#h-loc", index=2)
    page.check("input[name=aerial_install][value=no]")
    page.check("input[name=sm_wan][value=yes]")
    shot("hub installation filled in")
    page.click("#record")
    shot("summary")
    page.click("#next-job")
    shot("next job")


def supervisor_walk(page: Any, base: str, job_id: str, shot: Callable[[str], None]) -> None:
    """Every supervisor page, and a finished job's timeline and one of its messages."""
    _log_in(page, base, "supervisor", DEMO_SUPERVISOR)
    shot("job history")
    page.goto(f"{base}/s/jobs/{job_id}")
    shot("a finished job")
    message = page.locator("a[href*='/messages/command/']").first
    if message.count():
        message.click()
        shot("a command")
        node = page.locator("#message-tree button.node").nth(3)
        if node.count():
            node.click()
            shot("a command, a field tapped")
    for path, step in (
        ("/s/workpacks", "work packs"),
        ("/s/unloads", "unload"),
        ("/s/suppliers", "suppliers"),
        ("/s/no-wan", "no-WAN register"),
        ("/s/users", "users"),
        ("/s/device", "the terminal"),
        ("/s/?page=9", "history past its end"),
    ):
        page.goto(base + path)
        shot(step)


def take_screens(out: Path) -> list[Path]:
    """Serve a fresh demo, walk both roles, return every screenshot written."""
    from playwright.sync_api import sync_playwright

    if out.exists():
        shutil.rmtree(out)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        make_demo(data_dir)
        jobs = _installer_jobs(data_dir)
        with (
            running_server(data_dir, time_scale=TIME_SCALE) as (port, _),
            sync_playwright() as pw,
        ):
            base = f"http://127.0.0.1:{port}"
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                for size, job_id in zip(PHONES, jobs, strict=False):
                    with _page(browser, size, phone=True) as page:
                        folder = out / f"installer-{size['width']}x{size['height']}"
                        shooter = Shooter(page, folder, full_page=False)
                        installer_walk(page, base, job_id, shooter)
                for size, phone in ((PHONES[1], True), (DESK, False)):
                    with _page(browser, size, phone=phone) as page:
                        folder = out / f"supervisor-{size['width']}x{size['height']}"
                        shooter = Shooter(page, folder, full_page=True)
                        supervisor_walk(page, base, jobs[0], shooter)
            finally:
                browser.close()
    return sorted(out.rglob("*.png"))


def _installer_jobs(data_dir: Path) -> list[str]:
    """The demo installer's jobs that have a gas meter first (their walk shows its prompt)."""
    from webapp.store.db import Store

    store = Store.open(data_dir)
    try:
        rows = store.reader().execute(
            "SELECT jobs.id, jobs.device_set FROM jobs JOIN users ON users.id = jobs.assignee_id "
            "WHERE users.username = ? ORDER BY jobs.id",
            [DEMO_INSTALLER[0]],
        )
        ordered = sorted(rows.fetchall(), key=lambda r: ('"gsme"' not in (r[1] or ""), r[0]))
        return [r[0] for r in ordered]
    finally:
        store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: 'make browser' installs Debian's chromium")
    written = take_screens(args.out)
    for path in written:
        print(path)
    print(f"{len(written)} screenshots in {args.out}/")


if __name__ == "__main__":
    main()
