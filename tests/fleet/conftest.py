"""The fleet office against a real throwaway PostgreSQL (one cluster per test session), its
app served on loopback in a thread, and HHT data directories with a demo job run."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row
from werkzeug.serving import make_server

from webapp.cli.run_job import run_job_headless
from webapp.fleet.client.config import join, joined
from webapp.fleet.client.sync import BatchLimits, SyncReport, store_loader, sync_once
from webapp.fleet.office.cluster import Cluster
from webapp.fleet.office.db import open_pool
from webapp.fleet.office.hhts import enrol
from webapp.fleet.office.identity import fleet_identity
from webapp.fleet.office.schema import migrate
from webapp.fleet.office.users import add as add_user
from webapp.fleet.office.web.app import create_fleet_app
from webapp.identity import IDENTITY_DIR, SigningIdentity, terminal_identity
from webapp.sim.demo import create_demo
from webapp.store.db import Store

FAST = 1000.0
SUPERVISOR = ("sara", "fleet-supervise-1")
TABLES = (
    "central_unload_items, central_unloads, pack_deliveries, packs, sessions, login_failures, "
    "users, hht_users, hht_unload_items, hht_unloads, no_wan, responses, commands, "
    "service_requests, jobs, events, sync_batches, sync_challenges, suppliers, hhts"
)


@pytest.fixture(scope="session")
def pg() -> Iterator[Cluster]:
    cluster = Cluster.start()
    try:
        migrate(cluster.dsn())
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def signer(tmp_path_factory: pytest.TempPathFactory) -> SigningIdentity:
    """The fleet's signing identity (made once, in a folder of its own)."""
    return fleet_identity(tmp_path_factory.mktemp("fleet-identity"))


@pytest.fixture(scope="session")
def served(pg: Cluster, signer: SigningIdentity) -> Iterator[tuple[str, object]]:
    pool = open_pool(pg.dsn())
    app = create_fleet_app(pool, signer, test_config={"TESTING": True})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        pool.close()


@pytest.fixture
def conn(pg: Cluster) -> Iterator[psycopg.Connection]:
    """A connection to an empty fleet (every table emptied first)."""
    with psycopg.connect(pg.dsn(), row_factory=dict_row, autocommit=True) as connection:
        connection.execute(f"TRUNCATE {TABLES} CASCADE")
        yield connection


@pytest.fixture
def fleet_url(served, conn) -> str:  # type: ignore[no-untyped-def]
    return served[0]


@pytest.fixture
def fleet_app(served, conn):  # type: ignore[no-untyped-def]
    return served[1]


@pytest.fixture(scope="session")
def ran_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Demo data with its first job run to its end (made once)."""
    directory = tmp_path_factory.mktemp("fleet-hht")
    job_ids = create_demo(directory)
    result = asyncio.run(run_job_headless(directory, job_ids[0], FAST))
    assert result["status"] == "completed"
    return directory, job_ids


@pytest.fixture
def make_hht(ran_template, tmp_path: Path, conn, fleet_url):  # type: ignore[no-untyped-def]
    """A new HHT (own data dir, own identity) enrolled as ``name`` and joined to the fleet."""
    made = iter(range(1, 100))

    def make(name: str | None = None, *, enrolled: bool = True) -> Path:
        n = next(made)
        directory = tmp_path / f"hht{n}"
        shutil.copytree(ran_template[0], directory)
        shutil.rmtree(directory / IDENTITY_DIR, ignore_errors=True)
        terminal = terminal_identity(directory)
        if enrolled:
            enrol(conn, terminal.certificate_pem, name or f"van-{n}", "test")
        join(directory, fleet_url)
        return directory

    return make


def sync(data_dir: Path, limits: BatchLimits | None = None) -> SyncReport:
    store = Store.open(data_dir)
    try:
        found = joined(data_dir)
        assert found is not None
        return sync_once(
            store, found, terminal_identity(data_dir), loader=store_loader(store), limits=limits
        )
    finally:
        store.close()


def hht_rows(data_dir: Path, sql: str, params: list | None = None) -> list[dict]:
    store = Store.open(data_dir)
    try:
        return [dict(r) for r in store.reader().query(sql, params or [])]
    finally:
        store.close()


@pytest.fixture
def supervisor(conn) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    add_user(conn, SUPERVISOR[0], SUPERVISOR[1])
    return SUPERVISOR


def fleet_snapshot(conn, hht_id: str) -> dict[str, list]:  # type: ignore[no-untyped-def]
    """Every row the fleet holds for one HHT, minus receipt times."""
    out = {}
    for table, order, drop in (
        ("events", "seq", {"received_at"}),
        ("jobs", "id", {"synced_at", "as_of"}),
        ("commands", "id", set()),
        ("responses", "id", set()),
        ("service_requests", "id", set()),
        ("hht_users", "username", {"active_at"}),
    ):
        rows = conn.execute(
            f"SELECT * FROM {table} WHERE hht_id = %s ORDER BY {order}", [hht_id]
        ).fetchall()
        out[table] = [{k: v for k, v in r.items() if k not in drop} for r in rows]
    return out


def same_rows(conn, one: str, other: str) -> None:  # type: ignore[no-untyped-def]
    """The fleet holds the same rows for HHTs ``one`` and ``other`` (ids aside)."""
    a, b = fleet_snapshot(conn, one), fleet_snapshot(conn, other)
    for table in a:
        strip = [{k: v for k, v in r.items() if k != "hht_id"} for r in a[table]]
        assert strip == [{k: v for k, v in r.items() if k != "hht_id"} for r in b[table]], table
