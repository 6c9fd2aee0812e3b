"""``hht serve``, ``hht url`` and ``hht tls``: the web server, its address, and HTTPS."""

from __future__ import annotations

from pathlib import Path

import click

from webapp.cli.common import data_dir_option, fail, resolve

DEFAULT_PORT = 8080
DEFAULT_THREADS = 16
ANY_ADDRESS = ("0.0.0.0", "::")


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
    from webapp.cli.serving import ServeSettings, become_server
    from webapp.cli.serving import serve as serve_here
    from webapp.web.lan import lan_address
    from webapp.web.tls import tls_files

    directory = resolve(data_dir)
    if not (directory / "hht.sqlite").exists():
        fail(f"No HHT data in {directory}; run 'hht init' (or 'hht init --demo') first.")
    files = tls_files(directory)
    tls = files if files.configured else None
    shown = lan_address() if host in ANY_ADDRESS else host
    print_url(device_url(directory, port, shown))
    if tls is None:
        click.echo("Serving plain HTTP ('hht tls init' enables HTTPS for camera and offline use).")
    settings = ServeSettings(
        data_dir=str(directory.resolve()),
        host=host,
        port=port,
        radio=radio,
        threads=threads,
        time_scale=time_scale,
        tls_dir=str(files.directory.resolve()) if tls is not None else None,
    )
    if dev:
        serve_here(settings, dev=True)
    else:
        become_server(settings)


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
