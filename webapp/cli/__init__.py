"""The ``hht`` command."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from pathlib import Path

import click

from webapp import config

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080
DEFAULT_THREADS = 16
FAST_TIME_SCALE = 1000.0

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Where the HHT keeps its data (default: ${config.DATA_DIR_ENV} or ./var).",
)


def _data_dir(value: Path | None) -> Path:
    return config.resolve_data_dir(value)


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"hht: {message}", err=True)
    sys.exit(code)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """HHT: the installer's Hand Held Terminal for GB smart meters."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


# --------------------------------------------------------------------------- init
@main.command()
@data_dir_option
@click.option("--demo", is_flag=True, help="Add demo users, a simulated street and jobs.")
def init(data_dir: Path | None, demo: bool) -> None:
    """Create the data directory and database (and demo data)."""
    from webapp.store.db import Store

    directory = config.ensure_private_dir(_data_dir(data_dir))
    Store.open(directory).close()
    config.secret_key(directory)
    click.echo(f"Data directory: {directory}")
    if demo:
        if (directory / config.SIM_DIR).exists():
            _fail(f"{directory} already has demo data; use a new --data-dir to start again.")
        from webapp.sim.demo import DEMO_INSTALLER, DEMO_INSTALLER_2, DEMO_SUPERVISOR, create_demo

        jobs = create_demo(directory)
        click.echo(f"Demo jobs: {', '.join(jobs)}")
        for username, _name, secret in (DEMO_INSTALLER, DEMO_INSTALLER_2):
            click.echo(f"Installer login: {username} / PIN {secret}")
        click.echo(f"Supervisor login: {DEMO_SUPERVISOR[0]} / password {DEMO_SUPERVISOR[2]}")


# -------------------------------------------------------------------------- users
@main.group()
def user() -> None:
    """Add, disable or reset users."""


def _user_store(data_dir: Path | None):  # type: ignore[no-untyped-def]
    from webapp.store.db import Store

    return Store.open(_data_dir(data_dir))


@user.command("add")
@data_dir_option
@click.argument("username")
@click.option("--role", type=click.Choice(["installer", "supervisor"]), required=True)
@click.option("--name", "display_name", default="", help="Full name shown on pages.")
@click.option("--secret", prompt="PIN or password", hide_input=True, confirmation_prompt=True)
def user_add(
    data_dir: Path | None, username: str, role: str, display_name: str, secret: str
) -> None:
    """Add a user (installers log in with a PIN, supervisors with a password)."""
    from webapp.auth.users import UserError, add_user

    store = _user_store(data_dir)
    try:
        with store.write() as db:
            added = add_user(db, username, role, secret, display_name)
    except UserError as exc:
        _fail(str(exc))
    click.echo(f"Added {added.role} {added.username}")


@user.command("disable")
@data_dir_option
@click.argument("username")
def user_disable(data_dir: Path | None, username: str) -> None:
    """Stop a user logging in."""
    from webapp.auth.users import UserError, set_disabled

    try:
        with _user_store(data_dir).write() as db:
            set_disabled(db, username, True)
    except UserError as exc:
        _fail(str(exc))
    click.echo(f"Disabled {username}")


@user.command("reset")
@data_dir_option
@click.argument("username")
@click.option("--secret", prompt="New PIN or password", hide_input=True, confirmation_prompt=True)
def user_reset(data_dir: Path | None, username: str, secret: str) -> None:
    """Set a new PIN or password (and clear a lock-out)."""
    from webapp.auth.users import UserError, reset_secret

    try:
        with _user_store(data_dir).write() as db:
            reset_secret(db, username, secret)
    except UserError as exc:
        _fail(str(exc))
    click.echo(f"Reset {username}")


# --------------------------------------------------------------------------- jobs
@main.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs(data_dir: Path | None, as_json: bool) -> None:
    """List jobs."""
    from webapp.store.db import Store

    db = Store.open(_data_dir(data_dir)).reader()
    rows = [
        {
            "id": r["id"],
            "site": r["site"],
            "mpxn": r["mpxn"],
            "supplier": r["supplier_eui"],
            "status": r["status"],
            "appointment": r["appointment"],
        }
        for r in db.query("SELECT * FROM jobs ORDER BY appointment, id")
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['id']:14} {r['status']:10} {r['mpxn']:14} {r['site']}")


@main.command("run-job")
@data_dir_option
@click.argument("job_id")
@click.option("--fast", is_flag=True, help="Simulated time runs 1000x faster.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def run_job(data_dir: Path | None, job_id: str, fast: bool, as_json: bool) -> None:
    """Run (or resume) one job on the simulated HAN without the web server."""
    from webapp.cli.run_job import run_job_headless

    try:
        result = asyncio.run(
            run_job_headless(_data_dir(data_dir), job_id, FAST_TIME_SCALE if fast else 1.0)
        )
    except Exception as exc:  # noqa: BLE001 - the message is what the user needs
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f"Job {result['job_id']}: {result['status']}")
        for c in result["commands"]:
            click.echo(
                f"  {c['seq']:3} {c['use_case']:8} counter {c['counter']} {c['state']:10} "
                f"attempts {c['attempts']} {c['outcome'] or ''}"
            )
    if result["status"] not in ("completed",):
        sys.exit(1)


# -------------------------------------------------------------------------- parse
def _is_file(name: str) -> bool:
    try:
        return Path(name).is_file()
    except OSError:  # e.g. a long hex string is no file name
        return False


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input, per line.")
@click.option(
    "--certs",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Directory of signers' certificates (<eui>-ds.pem) to verify signatures.",
)
@click.argument("inputs", nargs=-1, required=True)
def parse(as_json: bool, certs: Path | None, inputs: tuple[str, ...]) -> None:
    """Parse GBCS messages: INPUT is a file of hex or base64, or a hex string."""
    from webapp.gbcs.describe import describe, parse_input, render_text
    from webapp.gbcs.errors import GbcsError
    from webapp.gbcs.signing import CertificateStore

    store = CertificateStore.from_directory(certs) if certs else None
    failed = 0
    for item in inputs:
        source = item if len(item) <= 80 or _is_file(item) else item[:77] + "..."
        try:
            described = describe(parse_input(item), store)
        except GbcsError as exc:
            failed += 1
            click.echo(f"hht parse: {source}: malformed GBCS: {exc}", err=True)
            continue
        except OSError as exc:
            failed += 1
            click.echo(f"hht parse: {source}: cannot read: {exc.strerror or exc}", err=True)
            continue
        if as_json:
            click.echo(json.dumps({"source": source, **described}, separators=(",", ":")))
        else:
            click.echo(f"== {source}")
            click.echo(render_text(described))
    if failed:
        sys.exit(2)


# ---------------------------------------------------------------------------- sim
@main.group()
def sim() -> None:
    """Look at and act on the simulated HAN (it stands for the real homes)."""


def _open_han(data_dir: Path | None):  # type: ignore[no-untyped-def]
    from webapp.sim.han.han import SimHan

    sim_dir = _data_dir(data_dir) / config.SIM_DIR
    if not sim_dir.exists():
        _fail(f"No simulated HAN in {sim_dir.parent}; run 'hht init --demo' first.")
    return SimHan.open(sim_dir)


@sim.command("log")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def sim_log(data_dir: Path | None, as_json: bool) -> None:
    """Each simulated device's log of executed commands."""
    han = _open_han(data_dir)
    try:
        rows = [
            {
                "device": r["device"],
                "counter": r["counter"],
                "message_code": r["message_code"],
                "executions": r["executions"],
                **({"route": r["route"]} if "route" in r else {}),
            }
            for r in han.device_log()
        ]
    finally:
        han.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(
            f"{r['device']} counter {r['counter']} code {r['message_code']} x{r['executions']}"
        )


@sim.command("wake-gsme")
@data_dir_option
@click.argument("hub_id")
def sim_wake(data_dir: Path | None, hub_id: str) -> None:
    """Press the gas meter's button at the home whose hub is HUB_ID."""
    han = _open_han(data_dir)
    try:
        han.press_gsme_button(hub_id.upper())
    finally:
        han.close()


@sim.command("power-cycle")
@data_dir_option
@click.argument("hub_id")
def sim_power_cycle(data_dir: Path | None, hub_id: str) -> None:
    """Switch a hub off and on: its Inter-PAN window opens for 60 minutes."""
    han = _open_han(data_dir)
    try:
        han.power_cycle(hub_id.upper())
    finally:
        han.close()


@sim.command("wan")
@data_dir_option
@click.argument("hub_id")
@click.argument("state", type=click.Choice(["up", "down"]))
def sim_wan(data_dir: Path | None, hub_id: str, state: str) -> None:
    """Switch a hub's WAN connection up or down."""
    han = _open_han(data_dir)
    try:
        han.set_wan(hub_id.upper(), state == "up")
    finally:
        han.close()


# -------------------------------------------------------------------------- serve
def _lan_address() -> str:
    """The address phones on the same Wi-Fi use (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def print_url(url: str) -> None:
    import segno

    click.echo(f"\nOpen {url} on the phone (same Wi-Fi), or scan:\n")
    segno.make(url, error="m").terminal(compact=True)


@main.command()
@data_dir_option
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option(
    "--radio",
    default="sim",
    show_default=True,
    help="sim, ezsp:PORT (Silicon Labs), deconz:PORT (ConBee) or auto (find a stick, else sim).",
)
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, type=int)
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    type=float,
    help="Simulated HAN only: device time runs this many times faster.",
)
@click.option("--dev", is_flag=True, help="Use Flask's development server instead of gunicorn.")
def serve(
    data_dir: Path | None,
    host: str,
    port: int,
    radio: str,
    threads: int,
    time_scale: float,
    dev: bool,
) -> None:
    """Serve the web app (what make run and the systemd unit start)."""
    from webapp.web.server import serve_dev, serve_gunicorn
    from webapp.web.tls import tls_files

    directory = _data_dir(data_dir)
    if not (directory / "hht.sqlite").exists():
        _fail(f"No HHT data in {directory}; run 'hht init' (or 'hht init --demo') first.")
    files = tls_files(directory)
    tls = files if files.configured else None
    shown = _lan_address() if host in ("0.0.0.0", "::") else host
    print_url(device_url(directory, port, shown))
    if tls is None:
        click.echo("Serving plain HTTP ('hht tls init' enables HTTPS for camera and offline use).")
    if dev:
        serve_dev(directory, host, port, radio, time_scale, tls)
    else:
        serve_gunicorn(directory, host, port, radio, time_scale, threads, tls)


@main.command()
@data_dir_option
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
def url(data_dir: Path | None, port: int) -> None:
    """Print the address phones use (and a QR code of it)."""
    print_url(device_url(_data_dir(data_dir), port))


def device_url(data_dir: Path, port: int, host: str | None = None) -> str:
    from webapp.web.tls import tls_files

    scheme = "https" if tls_files(data_dir).configured else "http"
    return f"{scheme}://{host or _lan_address()}:{port}/"


# ---------------------------------------------------------------------------- tls
@main.group()
def tls() -> None:
    """HTTPS on the local network (a local certificate authority)."""


@tls.command("init")
@data_dir_option
@click.option("--name", "names", multiple=True, help="Host name to certify (repeatable).")
@click.option("--address", "addresses", multiple=True, help="IP address to certify (repeatable).")
def tls_init(data_dir: Path | None, names: tuple[str, ...], addresses: tuple[str, ...]) -> None:
    """Create the local CA (once) and a server certificate for this device."""
    from webapp.web.tls import init_tls, local_names

    found_names, found_addresses = local_names()
    all_names = list(dict.fromkeys([*names, *found_names]))
    all_addresses = list(dict.fromkeys([*addresses, *found_addresses]))
    try:
        files = init_tls(_data_dir(data_dir), all_names, all_addresses)
    except ValueError as exc:
        _fail(f"bad address: {exc}")
    click.echo(f"Server certificate for {', '.join(all_names + all_addresses)}")
    click.echo(f"CA certificate: {files.ca_cert} (install it on the phones: hht tls ca)")
    click.echo("Restart the server to serve HTTPS.")


@tls.command("ca")
@data_dir_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def tls_ca(data_dir: Path | None, out: Path | None) -> None:
    """Export the CA certificate (PEM) to install on phones."""
    from webapp.web.tls import tls_files

    files = tls_files(_data_dir(data_dir))
    if not files.ca_cert.is_file():
        _fail("no local CA yet; run 'hht tls init' first.")
    pem = files.ca_cert.read_bytes()
    if out:
        out.write_bytes(pem)
        click.echo(f"Wrote {out}")
    else:
        click.echo(pem.decode(), nl=False)


@main.command()
@data_dir_option
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup(data_dir: Path | None, destination: Path) -> None:
    """Write a consistent copy of the database (VACUUM INTO)."""
    from webapp.store.db import Store

    store = Store.open(_data_dir(data_dir))
    try:
        store.backup(destination)
    except FileExistsError as exc:
        _fail(str(exc))
    click.echo(f"Backed up to {destination}")


@main.command("restore")
@data_dir_option
@click.argument("backup_file", type=click.Path(dir_okay=False, path_type=Path))
def restore_command(data_dir: Path | None, backup_file: Path) -> None:
    """Replace the database with a backup (stop the server first); the current one is kept."""
    from webapp.store.db import restore

    try:
        kept = restore(_data_dir(data_dir), backup_file)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    click.echo(f"Restored {backup_file}; the database it replaced is kept as {kept}")


from webapp.cli.radio import register as _register_zigbee  # noqa: E402

_register_zigbee(main)

from webapp.cli.workpack import register as _register_workpack  # noqa: E402

_register_workpack(main)


def run() -> None:
    """The console script: a corrupt database is reported plainly, never as a traceback."""
    from webapp.store.db import CorruptDatabaseError

    try:
        main()
    except CorruptDatabaseError as exc:
        click.echo(f"hht: {exc}", err=True)
        sys.exit(3)


if __name__ == "__main__":
    run()
