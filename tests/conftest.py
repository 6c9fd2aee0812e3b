"""Fixtures shared by the whole suite: a demo data directory and a running app."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from webapp.sim.demo import DEMO_INSTALLER, DEMO_INSTALLER_2, DEMO_SUPERVISOR, create_demo

FAST = 1000.0
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
    from webapp.web import create_app, shutdown

    application = create_app(demo_dir, time_scale=FAST, test_config={"TESTING": True})
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
