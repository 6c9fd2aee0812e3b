"""``hht serve``, ``hht url`` and ``hht tls``: the web server, its address, and HTTPS."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from webapp.cli.common import data_dir_option, fail, resolve

if TYPE_CHECKING:
    from webapp.web.tls import TlsFiles

DEFAULT_PORT = 8080
DEFAULT_THREADS = 16
ANY_ADDRESS = ("0.0.0.0", "::")
FRONTS = ("auto", "nginx", "none")
NO_FRONT_WARNING = (
    "WARNING: nginx is not installed, so the HHT serves without its front: slow or idle "
    "clients on the Wi-Fi can hold gunicorn's threads and stop it answering (logins and "
    "Socket.IO are still guarded). Install nginx (scripts/ensure-nginx.sh, or apt-get "
    "install nginx) and restart; '--front none' serves this way without this warning."
)


def device_url(data_dir: Path, port: int, host: str | None = None) -> str:
    """The address phones open: HTTPS once ``hht tls init`` has run, on the LAN address."""
    from webapp.web.lan import lan_address
    from webapp.web.tls import tls_files

    scheme = "https" if tls_files(data_dir).configured else "http"
    return f"{scheme}://{host or lan_address()}:{port}/"


def print_url(url: str) -> None:
    """Print ``url`` and a QR code of it for a phone's camera."""
    import segno

    click.echo(f"\nOpen {url} on the phone (same Wi-Fi), or scan:\n")
    segno.make(url, error="m").terminal(compact=True)


@click.command()
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
@click.option(
    "--front",
    type=click.Choice(FRONTS),
    default="auto",
    show_default=True,
    help="nginx in front of gunicorn: auto (when installed, else a warning), nginx, none.",
)
@click.option("--dev", is_flag=True, help="Use Flask's development server instead of gunicorn.")
def serve(
    data_dir: Path | None,
    host: str,
    port: int,
    radio: str,
    threads: int,
    time_scale: float,
    front: str,
    dev: bool,
) -> None:
    """Serve the web app (what make run and the systemd unit start)."""
    from webapp.cli.serving import ServeSettings, become_server
    from webapp.cli.serving import serve as serve_here
    from webapp.web.front import RUN_DIR
    from webapp.web.lan import lan_address
    from webapp.web.server import AlreadyServing, hold_serve_lock
    from webapp.web.tls import tls_files

    directory = resolve(data_dir)
    if not (directory / "hht.sqlite").exists():
        fail(f"No HHT data in {directory}; run 'hht init' (or 'hht init --demo') first.")
    try:
        hold_serve_lock(directory / RUN_DIR)  # held by this process, and after its exec
    except AlreadyServing as exc:
        fail(str(exc))
    files = tls_files(directory)
    tls = files if files.configured else None
    shown = lan_address() if host in ANY_ADDRESS else host
    print_url(device_url(directory, port, shown))
    if tls is None:
        click.echo("Serving plain HTTP ('hht tls init' enables HTTPS for camera and offline use).")
    front_command, upstream = (None, None) if dev else _front(directory, front, host, port, tls)
    settings = ServeSettings(
        data_dir=str(directory.resolve()),
        host=host,
        port=port,
        radio=radio,
        threads=threads,
        time_scale=time_scale,
        tls_dir=str(files.directory.resolve()) if tls is not None else None,
        front=front_command,
        upstream=upstream,
    )
    if dev:
        serve_here(settings, dev=True)
    else:
        become_server(settings)


def _front(
    directory: Path, choice: str, host: str, port: int, tls: TlsFiles | None
) -> tuple[list[str] | None, str | None]:
    """nginx's command line and gunicorn's socket when nginx serves in front (its
    configuration written and checked), else (None, None), said loudly."""
    import subprocess

    from webapp.web import front
    from webapp.web.hosts import certificate_names

    nginx = None if choice == "none" else front.find_nginx()
    if nginx is None:
        if choice == "nginx":
            fail("nginx is not installed (scripts/ensure-nginx.sh installs it).")
        if choice == "auto":
            click.echo(NO_FRONT_WARNING, err=True)
        return None, None
    names = certificate_names(tls.server_cert) if tls is not None else []
    files = front.write_config(
        directory,
        host=host,
        port=port,
        tls_cert=tls.server_cert.resolve() if tls is not None else None,
        tls_key=tls.server_key.resolve() if tls is not None else None,
        host_names=front.known_host_names(names),
    )
    check = subprocess.run(
        front.nginx_command(nginx, files, test=True), capture_output=True, text=True
    )
    if check.returncode != 0:
        fail(f"nginx refuses the front's configuration {files.config}:\n{check.stderr}")
    click.echo(f"nginx in front ({files.config}); gunicorn on {files.upstream_socket}.")
    return front.nginx_command(nginx, files), str(files.upstream_socket)


@click.command()
@data_dir_option
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
def url(data_dir: Path | None, port: int) -> None:
    """Print the address phones use (and a QR code of it)."""
    print_url(device_url(resolve(data_dir), port))


@click.group()
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
        files = init_tls(resolve(data_dir), all_names, all_addresses)
    except ValueError as exc:
        fail(f"bad address: {exc}")
    click.echo(f"Server certificate for {', '.join(all_names + all_addresses)}")
    click.echo(f"CA certificate: {files.ca_cert} (install it on the phones: hht tls ca)")
    click.echo("Restart the server to serve HTTPS.")


@tls.command("ca")
@data_dir_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def tls_ca(data_dir: Path | None, out: Path | None) -> None:
    """Export the CA certificate (PEM) to install on phones."""
    from webapp.web.tls import tls_files

    files = tls_files(resolve(data_dir))
    if not files.ca_cert.is_file():
        fail("no local CA yet; run 'hht tls init' first.")
    pem = files.ca_cert.read_bytes()
    if out:
        out.write_bytes(pem)
        click.echo(f"Wrote {out}")
    else:
        click.echo(pem.decode(), nl=False)
