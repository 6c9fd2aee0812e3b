"""``hht fleet-demo`` (``make fleet``): the whole loop on one machine.

A throwaway PostgreSQL (:class:`webapp.fleet.office.cluster.Cluster`), the fleet office on
loopback with a demo supervisor, and three demo HHTs, each in a data directory of its own
under ``--demo-dir``: each is made from the demo (:func:`webapp.sim.demo.create_demo`, one
supplier, one street), gets its own terminal identity, is enrolled and joined, runs some of
its jobs on the simulated HAN and syncs.  Then the address and the login are printed and the
fleet serves until Ctrl-C, when the server and PostgreSQL stop (the cluster is removed; the
HHTs' folders stay, and the next run makes them anew).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from webapp.cli.common import fail

log = logging.getLogger(__name__)

#: The fleet's demo supervisor (username, display name, password).
DEMO_SUPERVISOR = ("fleet", "Fleet Supervisor", "fleet-demo-1")
#: How many of its demo jobs each demo HHT runs: van-1 one, van-2 two, van-3 three.
DEMO_RUNS = (1, 2, 3)
HHT_PREFIX = "van-"
MARKER = ".hht-fleet-demo"
TEMPLATE = ".template"
SERVER_LOG = "fleet-server.log"
IDENTITY_DIR = "fleet-identity"
DEFAULT_PORT = 8090
SERVER_START_SECONDS = 60.0
SERVER_STOP_SECONDS = 15.0
POLL_SECONDS = 0.2
FAST_TIME_SCALE = 1000.0


class DemoError(RuntimeError):
    """The demo cannot be set up, with the reason."""


@dataclass
class DemoHht:
    name: str
    data_dir: Path
    terminal_id: str
    jobs: dict[str, str] = field(default_factory=dict)  # job id -> status on the HHT


def prepare_folder(root: Path) -> None:
    """Make ``root`` an empty demo folder: refused when it holds anything but a previous
    demo (its marker), which is removed."""
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).is_file():
            raise DemoError(
                f"{root} is not empty and holds no earlier fleet demo: choose another folder"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("the fleet demo's folder: made anew by each hht fleet-demo\n")


def _add_supervisor(dsn: str) -> None:
    import psycopg
    from psycopg.rows import dict_row

    from webapp.fleet.office.users import add

    with psycopg.connect(dsn, row_factory=dict_row, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM users WHERE username = %s", [DEMO_SUPERVISOR[0]]).fetchone():
            return
        add(conn, DEMO_SUPERVISOR[0], DEMO_SUPERVISOR[2], DEMO_SUPERVISOR[1])


def _make_hht(template: Path, directory: Path, name: str, dsn: str, url: str) -> DemoHht:
    """A copy of the demo with an identity of its own, enrolled and joined."""
    import psycopg
    from psycopg.rows import dict_row

    from webapp.fleet.client.config import join
    from webapp.fleet.office.hhts import enrol
    from webapp.identity import IDENTITY_DIR as TERMINAL_IDENTITY_DIR
    from webapp.identity import terminal_identity

    shutil.copytree(template, directory)
    shutil.rmtree(directory / TERMINAL_IDENTITY_DIR, ignore_errors=True)
    terminal = terminal_identity(directory)
    with psycopg.connect(dsn, row_factory=dict_row, autocommit=True) as conn:
        enrol(conn, terminal.certificate_pem, name, "fleet-demo")
    join(directory, url)
    return DemoHht(name, directory, terminal.terminal_id)


def _power_cycle(data_dir: Path, job_id: str) -> None:
    """Switch the job's hub off and on, as the installer does on arrival: its pairing window
    opens (the simulated clock ran on through the jobs before)."""
    from webapp import config
    from webapp.sim.han.han import SimHan
    from webapp.store.db import Store

    store = Store.open(data_dir)
    try:
        row = (
            store.reader()
            .execute("SELECT expected_hub_id FROM jobs WHERE id = ?", [job_id])
            .fetchone()
        )
    finally:
        store.close()
    if row is None or not row[0]:
        return
    han = SimHan.open(data_dir / config.SIM_DIR)
    try:
        han.power_cycle(str(row[0]).upper())
    finally:
        han.close()


def _run_jobs(hht: DemoHht, job_ids: Sequence[str], time_scale: float) -> None:
    from webapp.cli.run_job import run_job_headless

    for job_id in job_ids:
        _power_cycle(hht.data_dir, job_id)
        result = asyncio.run(run_job_headless(hht.data_dir, job_id, time_scale))
        log.info("%s ran %s: %s", hht.name, job_id, result["status"])


def sync_hht(data_dir: Path) -> dict[str, object]:
    """One sync of the HHT in ``data_dir`` with its fleet; the report."""
    from webapp.fleet.client.config import joined
    from webapp.fleet.client.sync import store_loader, sync_once
    from webapp.identity import terminal_identity
    from webapp.store.db import Store

    found = joined(data_dir)
    if found is None:
        raise DemoError(f"{data_dir} joined no fleet")
    store = Store.open(data_dir)
    try:
        report = sync_once(store, found, terminal_identity(data_dir), loader=store_loader(store))
    finally:
        store.close()
    return report.to_dict()


def hht_jobs(data_dir: Path) -> dict[str, str]:
    """Every job on the HHT and its status, as the HHT shows them."""
    from webapp.store.db import Store

    store = Store.open(data_dir)
    try:
        return {r["id"]: r["status"] for r in store.reader().query("SELECT id, status FROM jobs")}
    finally:
        store.close()


def setup(
    root: Path,
    dsn: str,
    url: str,
    *,
    runs: Sequence[int] = DEMO_RUNS,
    time_scale: float = FAST_TIME_SCALE,
) -> list[DemoHht]:
    """The demo's HHTs under ``root`` (one per entry of ``runs``, running that many of their
    jobs), enrolled at the fleet on ``dsn``, joined to ``url`` and synced; and the demo
    supervisor.  The fleet's database must be migrated and its server listening."""
    from webapp.sim.demo import create_demo

    _add_supervisor(dsn)
    template = Path(root) / TEMPLATE
    job_ids = create_demo(template)
    made = []
    try:
        for n, count in enumerate(runs, 1):
            name = f"{HHT_PREFIX}{n}"
            hht = _make_hht(template, Path(root) / name, name, dsn, url)
            _run_jobs(hht, job_ids[: max(0, count)], time_scale)
            sync_hht(hht.data_dir)
            hht.jobs = hht_jobs(hht.data_dir)
            made.append(hht)
    finally:
        shutil.rmtree(template, ignore_errors=True)
    return made


def _wait_for_port(port: int, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise DemoError(f"the fleet server stopped at start: see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=POLL_SECONDS):
                return
        except OSError:
            time.sleep(POLL_SECONDS)
    raise DemoError(f"the fleet server did not listen on {port} in {SERVER_START_SECONDS} s")


def start_server(dsn: str, port: int, root: Path) -> subprocess.Popen:
    """``hht fleet serve`` on loopback, its log in ``root``; returns once it listens."""
    log_path = Path(root) / SERVER_LOG
    hht = str(Path(sys.executable).with_name("hht"))
    command = [hht, "fleet", "serve", "--dsn", dsn, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--identity-dir", str(Path(root) / IDENTITY_DIR)]
    with open(log_path, "ab") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, server, log_path)
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(SERVER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _announce(url: str, dsn: str, hhts: list[DemoHht]) -> None:
    click.echo("")
    click.echo(f"Fleet office: {url}/")
    click.echo(f"Login: supervisor {DEMO_SUPERVISOR[0]} / password {DEMO_SUPERVISOR[2]}")
    click.echo(f"PostgreSQL (throwaway): {dsn}")
    for hht in hhts:
        states = ", ".join(f"{j} {s}" for j, s in sorted(hht.jobs.items()))
        click.echo(f"  {hht.name} ({hht.terminal_id}) in {hht.data_dir}: {states}")
    click.echo(f"Every job the fleet holds: hht fleet jobs --dsn '{dsn}' --json")
    click.echo(f"Sync an HHT again: hht fleet sync --data-dir {hhts[0].data_dir}")
    click.echo("Ctrl-C stops the fleet office and PostgreSQL.")


@click.command("fleet-demo")
@click.option(
    "--demo-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/fleet"),
    show_default=True,
    help="Where the demo HHTs' data folders go (made anew each run).",
)
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True)
def fleet_demo(demo_dir: Path, port: int) -> None:
    """A throwaway PostgreSQL, the fleet office and three demo HHTs that run jobs and sync."""
    from webapp.fleet.office.cluster import Cluster, ClusterError
    from webapp.fleet.office.schema import migrate

    root = demo_dir.resolve()
    try:
        prepare_folder(root)
    except DemoError as exc:
        fail(str(exc))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop as Ctrl-C does
    try:
        cluster = Cluster.start()
    except ClusterError as exc:
        fail(str(exc))
    server = None
    problem = None
    try:
        dsn = cluster.dsn()
        migrate(dsn)
        server = start_server(dsn, port, root)
        url = f"http://127.0.0.1:{port}"
        hhts = setup(root, dsn, url)
        _announce(url, dsn, hhts)
        server.wait()
        problem = f"the fleet server stopped: see {root / SERVER_LOG}"
    except DemoError as exc:
        problem = str(exc)
    except KeyboardInterrupt:
        click.echo("\nstopping the fleet office and PostgreSQL")
    finally:
        if server is not None:
            stop_server(server)
        cluster.stop()
    if problem:
        fail(problem)
