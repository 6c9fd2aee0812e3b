"""Every page of both roles, at both phone sizes: axe-core finds nothing serious or critical,
nothing scrolls sideways, every visible control is big enough to tap (tests/browser/pages.py
says how each is measured); and a page load asks the terminal's clock once.

One server and one browser for the module; each role logs in once. Before the pages are
visited, the installer runs one demo job through the API (as the page's buttons do), so
that history, the job's timeline, its messages and the items waiting for an unload exist.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, log_in, running_server
from tests.browser.pages import INSTALLER_TARGET_PX, PHONES, TARGET_PX, page_problems
from webapp.sim.demo import DEMO_INSTALLER, DEMO_SUPERVISOR

pytestmark = pytest.mark.browser

TIME_SCALE = "200"  # the job run for history and messages takes seconds
JOB_SECONDS = 90.0
POLL_SECONDS = 0.2
PAGE_TIMEOUT_MS = 20_000
CLOCK_REFRESH_MS = 30_000  # common.js asks the clock again this often
CLOCK_MARGIN_MS = 1000
RUNNING = ("ready", "running")


@dataclass(frozen=True)
class Site:
    url: str
    ready_job: str  # untouched: its pages as before a visit
    ran_job: str  # run to its end before the pages are visited
    command_id: int
    response_id: int


@dataclass(frozen=True)
class Visit:
    """A page to check: its path and what to do once it is open."""

    path: Callable[[Site], str]
    then: Callable[[Any], None] | None = None


def _scan(page: Any) -> None:
    page.get_by_role("button", name="Scan for hubs").click()
    page.locator("li.beacon").first.wait_for()


def _commands_drawn(page: Any) -> None:
    """The run page draws its commands from the socket's first snapshot."""
    page.locator(".cmd").first.wait_for()


INSTALLER_PAGES = {
    "todays-jobs": Visit(lambda s: "/i/"),
    "job": Visit(lambda s: f"/i/jobs/{s.ready_job}"),
    "hub": Visit(lambda s: f"/i/jobs/{s.ready_job}/hub"),
    "hub-after-scan": Visit(lambda s: f"/i/jobs/{s.ready_job}/hub", _scan),
    "run": Visit(lambda s: f"/i/jobs/{s.ready_job}/run", _commands_drawn),
    "run-finished": Visit(lambda s: f"/i/jobs/{s.ran_job}/run", _commands_drawn),
    "survey": Visit(lambda s: f"/i/jobs/{s.ready_job}/survey"),
    "load-work-pack": Visit(lambda s: "/i/workpack"),
    "command-message": Visit(lambda s: f"/messages/command/{s.command_id}"),
    "response-message": Visit(lambda s: f"/messages/response/{s.response_id}"),
}

SUPERVISOR_PAGES = {
    "history-and-waiting": Visit(lambda s: "/s/"),
    "history-filtered": Visit(lambda s: f"/s/?status=completed&q={s.ran_job}&from=2020-01-01"),
    "job": Visit(lambda s: f"/s/jobs/{s.ran_job}"),
    "device": Visit(lambda s: "/s/device"),
    "users": Visit(lambda s: "/s/users"),
    "no-wan-register": Visit(lambda s: "/s/no-wan"),
    "work-packs": Visit(lambda s: "/s/workpacks"),
    "suppliers": Visit(lambda s: "/s/suppliers"),
    "unloads": Visit(lambda s: "/s/unloads"),
    "command-message": Visit(lambda s: f"/messages/command/{s.command_id}"),
    "response-message": Visit(lambda s: f"/messages/response/{s.response_id}"),
}

LOGIN_PAGES = {"installer": INSTALLER_TARGET_PX, "supervisor": TARGET_PX}


# ------------------------------------------------------------------ fixtures
def _jobs(data_dir: Path) -> list[dict[str, Any]]:
    from webapp.store.db import Store

    store = Store.open(data_dir)
    try:
        return [dict(r) for r in store.reader().query("SELECT * FROM jobs ORDER BY id")]
    finally:
        store.close()


def _first_message_ids(data_dir: Path, job_id: str) -> tuple[int, int]:
    from webapp.store.db import Store

    store = Store.open(data_dir)
    try:
        db = store.reader()
        command = db.execute("SELECT min(id) FROM commands WHERE job_id = ?", [job_id])
        response = db.execute("SELECT min(id) FROM responses WHERE job_id = ?", [job_id])
        return command.fetchone()[0], response.fetchone()[0]
    finally:
        store.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: 'make test' installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def data_dir(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("accessibility") / "data"
    shutil.copytree(demo_template, target)
    return target


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[str]:
    with running_server(data_dir, time_scale=TIME_SCALE) as url:
        yield url


def _phone(chromium: Any) -> Any:
    context = chromium.new_context(
        viewport=PHONES[0], is_mobile=True, has_touch=True, device_scale_factor=2
    )
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    return context


class Api:
    """The JSON calls the installer's pages make, with the page's session and CSRF token."""

    def __init__(self, page: Any, url: str) -> None:
        self.page, self.url = page, url
        self.csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = self.page.request.post(
            self.url + path,
            data=json.dumps(body or {}),
            headers={"Content-Type": "application/json", "X-CSRF-Token": self.csrf},
        )
        assert answer.ok, (path, answer.status, answer.text())
        return answer.json()

    def get(self, path: str) -> Any:
        answer = self.page.request.get(self.url + path)
        assert answer.ok, (path, answer.status, answer.text())
        return answer.json()


def _run_job(api: Api, job: dict[str, Any]) -> None:
    """Scan, connect, run and wake the gas meter when asked, until the job has ended."""
    base = f"/api/jobs/{job['id']}"
    api.post(f"{base}/sim/power-cycle")
    api.post(f"{base}/scan")
    api.post(f"{base}/connect", {"hub_id": job["expected_hub_id"]})
    api.post(f"{base}/start")
    deadline = time.monotonic() + JOB_SECONDS
    while time.monotonic() < deadline:
        snapshot = api.get(base)
        if snapshot["job"]["status"] not in RUNNING:
            return
        if snapshot["live"].get("action") == "wake-gsme":
            api.post(f"{base}/sim/wake-gsme")
        time.sleep(POLL_SECONDS)
    pytest.fail(f"job {job['id']} did not end within {JOB_SECONDS} s")


@pytest.fixture(scope="module")
def installer(chromium: Any, server: str, data_dir: Path) -> Iterator[tuple[Any, Site]]:
    """The installer's phone, logged in, after one demo job was run to its end."""
    context = _phone(chromium)
    page = context.new_page()
    log_in(page, server, "installer", DEMO_INSTALLER)
    page.wait_for_url(f"{server}/i/**")
    mine = [j for j in _jobs(data_dir) if j["status"] == "ready"]
    ready, ran = mine[0], mine[1]
    _run_job(Api(page, server), ran)
    command_id, response_id = _first_message_ids(data_dir, ran["id"])
    yield page, Site(server, ready["id"], ran["id"], command_id, response_id)
    context.close()


@pytest.fixture(scope="module")
def supervisor(
    chromium: Any, server: str, installer: tuple[Any, Site]
) -> Iterator[tuple[Any, Site]]:
    context = _phone(chromium)
    page = context.new_page()
    log_in(page, server, "supervisor", DEMO_SUPERVISOR)
    page.wait_for_url(f"{server}/s/**")
    yield page, installer[1]
    context.close()


# --------------------------------------------------------------------- checks
def _check(page: Any, site: Site, visit: Visit, minimum: int) -> None:
    answer = page.goto(site.url + visit.path(site))
    assert answer is not None and answer.ok, (visit.path(site), answer and answer.status)
    if visit.then:
        visit.then(page)
    problems = page_problems(page, minimum)
    assert not problems, f"{page.url}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", INSTALLER_PAGES)
def test_installer_pages_are_accessible_on_phones(installer: tuple[Any, Site], name: str):
    page, site = installer
    _check(page, site, INSTALLER_PAGES[name], INSTALLER_TARGET_PX)


@pytest.mark.parametrize("name", SUPERVISOR_PAGES)
def test_supervisor_pages_are_accessible_on_phones(supervisor: tuple[Any, Site], name: str):
    page, site = supervisor
    _check(page, site, SUPERVISOR_PAGES[name], TARGET_PX)


@pytest.mark.parametrize("role", LOGIN_PAGES)
def test_the_login_page_is_accessible_on_phones(chromium: Any, server: str, role: str):
    context = _phone(chromium)
    try:
        page = context.new_page()
        site = Site(server, "", "", 0, 0)
        _check(page, site, Visit(lambda s: f"/login?role={role}"), LOGIN_PAGES[role])
    finally:
        context.close()


def _is_clock(request_or_response: Any) -> bool:
    return "/api/clock" in request_or_response.url


def test_a_page_load_asks_the_clock_once_then_every_30_seconds(
    chromium: Any, installer: tuple[Any, Site]
):
    """The page's timers run on Playwright's clock: no waiting, nothing timed."""
    site = installer[1]
    context = _phone(chromium)
    try:
        page = context.new_page()
        log_in(page, site.url, "installer", DEMO_INSTALLER)
        page.wait_for_url(f"{site.url}/i/**")
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if _is_clock(r) else None)
        page.clock.install()
        with page.expect_response(_is_clock):
            page.goto(f"{site.url}/i/")
        page.clock.run_for(CLOCK_REFRESH_MS - CLOCK_MARGIN_MS)
        with page.expect_request(_is_clock):  # any earlier request was seen before this one
            page.clock.run_for(2 * CLOCK_MARGIN_MS)
        assert len(asked) == 2, asked  # the load's, then the 30 s refresh: nothing between
    finally:
        context.close()
