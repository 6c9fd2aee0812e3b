"""Faults during a sync: the process killed at every batch boundary and inside batches (the
crash harness's kill points, ``webapp.faults``), the fleet server restarted, PostgreSQL
restarted, batches carried duplicated and out of order, an HHT clock hours off.  Each time
the fleet ends with exactly the rows an uninterrupted sync gives: nothing lost, nothing
doubled."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.fleet.conftest import hht_rows, same_rows, sync
from tests.fleet.test_office import _login
from tests.workpack.conftest import job_spec, pack_spec
from webapp.cli.fleet_demo import start_server, stop_server
from webapp.faults import KILL_ENV
from webapp.fleet import protocol
from webapp.fleet.client import collect
from webapp.fleet.client import sync as client_sync
from webapp.fleet.client.config import join, joined
from webapp.fleet.client.sync import BatchLimits, FleetLink, SyncError
from webapp.fleet.office import packs
from webapp.fleet.office import unload as central
from webapp.fleet.office.cluster import Cluster, free_port
from webapp.identity import terminal_identity
from webapp.sim.demo import DEMO_SUPPLIER_EUI
from webapp.sim.packs import build_pack

#: Small batches, so one sync is several.
LIMITS = BatchLimits(events=9, jobs=1)
SYNC_TIMEOUT_SECONDS = 120


def _hht_sync(data_dir: Path, kill_at: str | None) -> subprocess.CompletedProcess[str]:
    """``hht fleet sync`` in a process of its own, told to SIGKILL itself at ``kill_at``."""
    env = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    if kill_at:
        env[KILL_ENV] = kill_at
    command = [str(Path(sys.executable).with_name("hht")), "fleet", "sync", "--json"]
    command += ["--data-dir", str(data_dir), "--batch-events", str(LIMITS.events)]
    command += ["--batch-jobs", str(LIMITS.jobs)]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=SYNC_TIMEOUT_SECONDS
    )


def _id(data_dir: Path) -> str:
    return terminal_identity(data_dir).terminal_id


def test_a_sync_killed_at_every_batch_boundary_and_inside_batches(make_hht, conn) -> None:
    clean, killed = make_hht("clean"), make_hht("killed")
    batches = sync(clean, LIMITS).batches
    assert batches >= 4
    # the first batch cut inside, then each run dies once a batch is through: right after the
    # fleet answered, before the next is sent, or inside the next one's bytes
    plan = [f"{client_sync.MID_BODY}:1"]
    points = [
        f"{client_sync.BATCH_ANSWERED}:1",
        f"{client_sync.BATCH_BUILT}:2",
        f"{client_sync.MID_BODY}:2",
    ]
    kills, runs = 0, 0
    while True:
        point = plan.pop(0) if plan else points[runs % len(points)]
        run = _hht_sync(killed, point)
        runs += 1
        if run.returncode == 0:
            break
        assert run.returncode == -signal.SIGKILL, run.stderr
        kills += 1
        assert runs <= batches + 2, "the sync made no progress between kills"
    assert kills >= batches - 1  # every boundary but the last had its kill
    last = json.loads(run.stdout)
    assert last["batches"] >= 1
    same_rows(conn, _id(clean), _id(killed))
    # a repeat adds nothing
    again = sync(killed, LIMITS)
    assert (again.events, again.jobs) == (0, 0)
    same_rows(conn, _id(clean), _id(killed))


def test_a_sync_killed_after_loading_a_pack_and_after_marking_a_central_unload(
    make_hht, conn, signer
) -> None:
    van = make_hht("van-k")
    sync(van)
    built = build_pack(pack_spec(job_spec("FK1", "1 Kill Road", ["CCS01_ESME"])), van)
    packs.publish(conn, built.data(), actor="test", hht="van-k")
    run = _hht_sync(van, f"{client_sync.PACK_LOADED}:1")
    assert run.returncode == -signal.SIGKILL
    assert [r["state"] for r in packs.deliveries(conn)] == ["offered"]  # loaded, not acked
    report = sync(van)
    assert report.packs_loaded and [r["state"] for r in packs.deliveries(conn)] == ["loaded"]
    assert hht_rows(van, "SELECT count(*) AS n FROM jobs WHERE id = 'FK1'") == [{"n": 1}]

    made = central.make(conn, DEMO_SUPPLIER_EUI, "test", signer)
    central.confirm_received(conn, made.id, "test")
    run = _hht_sync(van, f"{client_sync.CENTRAL_MARKED}:1")
    assert run.returncode == -signal.SIGKILL
    sync(van)  # marks what is left, and nothing twice
    names = hht_rows(van, "SELECT file_name FROM unloads WHERE file_name LIKE 'fleet:%'")
    assert names == [{"file_name": f"fleet:{made.id}"}]
    marked = hht_rows(
        van,
        "SELECT count(*) AS n FROM responses WHERE received_unload_id = "
        "(SELECT id FROM unloads WHERE file_name = ?)",
        [f"fleet:{made.id}"],
    )
    assert marked == [{"n": made.responses}]


def test_the_fleet_server_killed_mid_batch_and_restarted(
    make_hht, conn, pg: Cluster, monkeypatch, tmp_path
) -> None:
    clean, van = make_hht("clean"), make_hht("restarted")
    sync(clean, LIMITS)
    port = free_port()
    server = [start_server(pg.dsn(), port, tmp_path)]  # hht fleet serve, as in production
    join(van, f"http://127.0.0.1:{port}")
    passes = {"mid-body": 0}

    def kill_the_server(name: str) -> None:  # instead of the HHT dying, the server does
        if name == client_sync.MID_BODY:
            passes["mid-body"] += 1
            if passes["mid-body"] == 3:  # the third batch half received
                server[0].send_signal(signal.SIGKILL)
                server[0].wait()

    monkeypatch.setattr(client_sync, "checkpoint", kill_the_server)
    try:
        with pytest.raises(SyncError):
            sync(van, LIMITS)
        server[0] = start_server(pg.dsn(), port, tmp_path)
        report = sync(van, LIMITS)
    finally:
        stop_server(server[0])
    assert passes["mid-body"] > 3 and report.batches >= 1
    same_rows(conn, _id(clean), _id(van))


def test_postgresql_restarted_mid_sync(make_hht, conn, pg: Cluster, monkeypatch) -> None:
    clean, van = make_hht("clean"), make_hht("pg-restarted")
    sync(clean, LIMITS)
    real = FleetLink._send
    seen = {"batch": 0}

    def send(self, path, data, signature):  # type: ignore[no-untyped-def]
        reply = real(self, path, data, signature)
        if path == protocol.BATCH:
            seen["batch"] += 1
            if seen["batch"] == 2:
                pg.restart()  # every connection the fleet held is gone
        return reply

    monkeypatch.setattr(FleetLink, "_send", send)
    report = sync(van, LIMITS)  # the pool hands out only live connections: no batch is lost
    assert report.batches == seen["batch"] > 2
    with psycopg.connect(pg.dsn(), row_factory=dict_row, autocommit=True) as fresh:
        same_rows(fresh, _id(clean), _id(van))


def test_batches_carried_duplicated_and_out_of_order_apply_once(make_hht, conn, monkeypatch):
    clean, carried = make_hht("clean"), make_hht("carried")
    sync(clean, LIMITS)
    recorded: list[tuple[bytes, str]] = []
    real = FleetLink._send

    def carry(self, path, data, signature):  # type: ignore[no-untyped-def]
        if path != protocol.BATCH:
            return real(self, path, data, signature)
        recorded.append((data, signature))  # kept for a carrier; answered as if applied
        batch = json.loads(data)
        link = batch["events"][-1]["hash"] if batch["events"] else batch["after"]["link"]
        return protocol.encode({"chain": {"seq": batch["seq"], "link": link}})

    monkeypatch.setattr(FleetLink, "_send", carry)
    sync(carried, LIMITS)
    monkeypatch.setattr(FleetLink, "_send", real)
    assert len(recorded) >= 4
    link = FleetLink(joined(carried), terminal_identity(carried))
    rng = random.Random(20261205)
    deliveries = list(range(len(recorded))) * 2  # every batch twice
    applied: set[int] = set()
    ahead = 0
    for _ in range(len(recorded) * 2):
        rng.shuffle(deliveries)
        for n in deliveries:
            try:
                link._send(protocol.BATCH, *recorded[n])
                applied.add(n)
            except SyncError as exc:
                assert exc.status == 409, exc  # ahead of what the fleet holds: refused, not flagged
                ahead += 1
        if len(applied) == len(recorded):
            break
    assert len(applied) == len(recorded) and ahead > 0
    state = conn.execute("SELECT chain_state FROM hhts WHERE id = %s", [_id(carried)]).fetchone()
    assert state["chain_state"] == "ok"
    repeated = conn.execute(
        "SELECT count(*) AS n FROM sync_batches WHERE hht_id = %s AND receipts > 1",
        [_id(carried)],
    ).fetchone()
    assert repeated["n"] > 0
    same_rows(conn, _id(clean), _id(carried))


def test_an_hht_clock_hours_off_still_syncs_and_shows_on_the_devices_page(
    make_hht, conn, fleet_app, supervisor, monkeypatch
) -> None:
    van = make_hht("van-late")
    ahead = datetime.now(UTC) + timedelta(hours=5)
    monkeypatch.setattr(collect, "utc_now", lambda: ahead.isoformat(timespec="milliseconds"))
    report = sync(van)
    head = hht_rows(van, "SELECT max(seq) AS s FROM job_events")[0]["s"]
    assert report.chain_seq == head
    client = fleet_app.test_client()
    _login(client, supervisor)
    page = client.get("/devices").get_data(as_text=True)
    row = page.split(f'data-hht="{_id(van)}"')[1].split("</tr>")[0]
    assert "clock 5 h 0 min ahead" in row or "clock 4 h 59 min ahead" in row
    offset = int(row.split('data-clock-off="')[1].split('"')[0])
    assert 5 * 3600 - 120 < offset <= 5 * 3600
