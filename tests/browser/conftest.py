"""A real server (gunicorn, as in production) and Debian's chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from webapp.bench.chromium import CHROMIUM, CHROMIUM_ARGS

PHONE = {"width": 390, "height": 844}
SERVER_START_SECONDS = 30.0
BROWSER_TIME_SCALE = "30"
SCREENSHOTS = REPO_ROOT / "tests" / "artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(
    demo_dir: Path, scheme: str = "http", time_scale: str = BROWSER_TIME_SCALE
) -> Iterator[str]:
    """``hht serve`` (gunicorn) on a free port; HTTPS when the data dir has TLS set up."""
    port = _free_port()
    hht = Path(sys.executable).with_name("hht")
    log_path = demo_dir.parent / f"server-{port}.log"
    log = open(log_path, "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            str(hht),
            "serve",
            "--data-dir",
            str(demo_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--time-scale",
            time_scale,
            "--threads",
            "8",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    else:
        proc.kill()
    try:
        if proc.poll() is not None:
            pytest.fail("server did not start:\n" + log_path.read_text())
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def log_in(page, url: str, role: str, who: tuple) -> None:  # type: ignore[no-untyped-def]
    """Log in on the login page as ``who`` (username, name, secret) in ``role``."""
    page.goto(f"{url}/login?role={role}")
    page.fill("#username", who[0])
    page.fill("#secret", who[2])
    page.click("button[type=submit]")


@pytest.fixture
def server(demo_dir: Path) -> Iterator[str]:
    with running_server(demo_dir) as url:
        yield url


@pytest.fixture
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: 'make test' installs Debian's chromium "
            "(scripts/ensure-chromium.sh); install it with apt-get install chromium."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def shots(request) -> Iterator:  # type: ignore[no-untyped-def]
    folder = SCREENSHOTS / request.node.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    counter = iter(range(1, 100))

    def take(page, name: str) -> Path:  # type: ignore[no-untyped-def]
        path = folder / f"{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    yield take
