"""Fixtures shared by the whole suite: a demo data directory, a running app, and a fresh
simulated HAN (fast mode) with a site and a supplier to build commands."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from webapp.sim.dcc import DemoSupplier, build_command
from webapp.sim.demo import DEMO_INSTALLER, DEMO_INSTALLER_2, DEMO_SUPERVISOR, create_demo
from webapp.sim.han.clock import SimClock
from webapp.sim.han.han import SimHan
from webapp.sim.han.scenario import SiteInfo

FAST = 1000.0
START = 1_780_000_000.0  # a fixed sim start, so runs compare exactly
SEED = 7
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo data made once per run; tests get their own copy."""
    directory = tmp_path_factory.mktemp("demo-template")
    create_demo(directory)
    return directory


@pytest.fixture
def demo_dir(demo_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(demo_template, target)
    return target


#: How long a fresh interpreter may take to import what a test asks of it.
FRESH_PYTHON_TIMEOUT_S = 60


@pytest.fixture(scope="session")
def fresh_python() -> Callable[[str], list[str]]:
    """Runs a script in a new interpreter (nothing imported yet) and gives back the words
    it printed: for what importing or opening something loads."""

    def run(script: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=FRESH_PYTHON_TIMEOUT_S,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.split()

    return run


@pytest.fixture
def demo_jobs(demo_dir: Path) -> list[dict]:
    from webapp.store.db import Store

    store = Store.open(demo_dir)
    try:
        return [dict(r) for r in store.reader().query("SELECT * FROM jobs ORDER BY id")]
    finally:
        store.close()


@pytest.fixture
def app(demo_dir: Path) -> Iterator:
    from webapp.station import open_app
    from webapp.web.app import shutdown

    application = open_app(demo_dir, time_scale=FAST, test_config={"TESTING": True})
    yield application
    shutdown(application)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def csrf_of(client) -> str:  # type: ignore[no-untyped-def]
    with client.session_transaction() as sess:
        return sess.get("csrf", "")


def login(client, role: str = "installer", who: tuple | None = None) -> str:  # type: ignore[no-untyped-def]
    """Log ``client`` in and return its CSRF token."""
    who = who or (DEMO_INSTALLER if role == "installer" else DEMO_SUPERVISOR)
    client.get(f"/login?role={role}")
    token = csrf_of(client)
    response = client.post(
        f"/login?role={role}",
        data={"username": who[0], "secret": who[2], "role": role, "csrf_token": token},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_of(client)


@pytest.fixture
def installer(client):  # type: ignore[no-untyped-def]
    return login(client, "installer")


@pytest.fixture
def other_installer_who() -> tuple:
    return DEMO_INSTALLER_2


# ---------------------------------------------------------------- the simulated HAN
@pytest.fixture
def clock() -> SimClock:
    return SimClock(FAST, start=START)


@pytest.fixture
def han(tmp_path: Path, clock: SimClock) -> Iterator[SimHan]:
    instance = SimHan.create(tmp_path / "sim", seed=SEED, time_scale=FAST, clock=clock)
    yield instance
    instance.close()


@pytest.fixture
def site(han: SimHan) -> SiteInfo:
    return han.add_site(name="1 Test Street", seed=SEED)


@pytest.fixture
def supplier() -> DemoSupplier:
    return DemoSupplier.create()


class Commands:
    """Builds commands from the demo supplier to the devices of one HAN."""

    def __init__(self, han: SimHan, supplier: DemoSupplier) -> None:
        self.han = han
        self.supplier = supplier

    def __call__(
        self,
        device_eui: str,
        counter: int,
        message_code: int = 0x0027,
        payload: bytes = b"\x01\x02",
        *,
        sign: bool = True,
    ) -> bytes:
        return build_command(
            self.han,
            supplier_identity=self.supplier,
            device_eui=device_eui,
            counter=counter,
            message_code=message_code,
            payload=payload,
            sign=sign,
        )


@pytest.fixture
def command(han: SimHan, supplier: DemoSupplier) -> Commands:
    return Commands(han, supplier)


def closed_out(**answers: str) -> str:
    """A job's close-out as the installer's form records it (installed, indoors on an
    external wall, no aerial, with a network signal unless ``answers`` say otherwise)."""
    from webapp.jobs import closeout

    form = {
        "installed": "yes",
        "chf_location": "Indoors on external wall",
        "aerial_install": "no",
        "sm_wan": "yes",
        **answers,
    }
    result = closeout.parse_form(form)
    assert not result.problems, result.problems
    return closeout.stamp(result.record, by="alex", at="2026-12-05T10:00:00.000+00:00")
