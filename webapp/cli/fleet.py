"""``hht identity export`` on an HHT, and ``hht fleet ...``: the fleet office and joining it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from webapp.cli.common import data_dir_option, fail, json_option, resolve

dsn_option = click.option(
    "--dsn",
    envvar="HHT_FLEET_DSN",
    required=True,
    help="The fleet's PostgreSQL (a libpq DSN or URI; default: $HHT_FLEET_DSN).",
)
PASSWORD_ENV = "HHT_FLEET_PASSWORD"


def identity_options(command):  # type: ignore[no-untyped-def]
    """--identity-dir, or --signing-key and --signing-cert: what the fleet signs with."""
    for option in reversed(
        (
            click.option(
                "--identity-dir",
                type=click.Path(file_okay=False, path_type=Path),
                default=None,
                help="The fleet's signing identity, made there on first use (default: "
                "$HHT_FLEET_IDENTITY, $STATE_DIRECTORY/identity or "
                "~/.local/share/hht-fleet/identity).",
            ),
            click.option(
                "--signing-key",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                default=None,
                help="An ECDSA key issued elsewhere (with --signing-cert).",
            ),
            click.option(
                "--signing-cert",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                default=None,
                help="The certificate of --signing-key.",
            ),
        )
    ):
        command = option(command)
    return command


def _signer(  # type: ignore[no-untyped-def]
    identity_dir: Path | None,
    signing_key: Path | None,
    signing_cert: Path | None,
    *,
    create: bool = True,
):
    from webapp.fleet.office.identity import FleetIdentityError, resolve

    try:
        return resolve(identity_dir, signing_key, signing_cert, create=create)
    except (FleetIdentityError, OSError) as exc:
        fail(str(exc))


@click.group("identity")
def identity() -> None:
    """This terminal's signing identity."""


@identity.command("export")
@data_dir_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def identity_export(data_dir: Path | None, out: Path | None) -> None:
    """Print (or write to --out) the terminal certificate a fleet office enrols."""
    from webapp.identity import terminal_identity

    terminal = terminal_identity(resolve(data_dir))
    if out is None:
        sys.stdout.write(terminal.certificate_pem.decode())
        return
    out.write_bytes(terminal.certificate_pem)
    click.echo(f"{terminal.terminal_id} ({terminal.fingerprint[:16]}…) written to {out}")


@click.group("fleet")
def fleet() -> None:
    """The fleet office (on its server) and joining it (on an HHT)."""


def _connect(dsn: str):  # type: ignore[no-untyped-def]
    import psycopg
    from psycopg.rows import dict_row

    try:
        return psycopg.connect(dsn, row_factory=dict_row, autocommit=True)
    except psycopg.Error as exc:
        fail(f"cannot reach the fleet's PostgreSQL: {exc}")


@fleet.command("migrate")
@dsn_option
@identity_options
def migrate_command(
    dsn: str, identity_dir: Path | None, signing_key: Path | None, signing_cert: Path | None
) -> None:
    """Bring the fleet's database to the newest schema (and make its signing identity)."""
    from webapp.fleet.office.schema import migrate

    signer = _signer(identity_dir, signing_key, signing_cert)
    click.echo(f"fleet database at revision {migrate(dsn)}")
    click.echo(f"fleet signing identity {signer.terminal_id} ({signer.fingerprint})")


@fleet.command("enrol")
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="The HHT's name on the fleet's pages.")
@dsn_option
def enrol_command(certificate: Path, name: str, dsn: str) -> None:
    """Admit the HHT whose terminal certificate (hht identity export) is CERTIFICATE."""
    from webapp.fleet.office.hhts import EnrolError, enrol

    with _connect(dsn) as conn:
        try:
            hht = enrol(conn, certificate.read_bytes(), name, os.environ.get("USER", "cli"))
        except EnrolError as exc:
            fail(str(exc))
    click.echo(f"enrolled {hht.id} as {hht.name}")


@fleet.command("revoke")
@click.argument("hht")
@dsn_option
def revoke_command(hht: str, dsn: str) -> None:
    """Refuse the HHT (name or id) from now on."""
    from webapp.fleet.office.hhts import EnrolError, revoke

    with _connect(dsn) as conn:
        try:
            click.echo(f"revoked {revoke(conn, hht)}")
        except EnrolError as exc:
            fail(str(exc))


@fleet.command("join")
@click.argument("url")
@click.option("--ca", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@data_dir_option
def join_command(url: str, ca: Path | None, data_dir: Path | None) -> None:
    """Keep the fleet office's address (and the CA for its HTTPS) on this HHT."""
    from webapp.fleet.client.config import JoinError, join

    try:
        joined = join(resolve(data_dir), url, ca)
    except (JoinError, OSError) as exc:
        fail(str(exc))
    click.echo(f"joined {joined.url}")


@fleet.command("sync")
@data_dir_option
@json_option
@click.option(
    "--batch-events",
    type=int,
    default=None,
    help="Events per batch at most (smaller over a poor link; default and cap: the protocol's).",
)
@click.option("--batch-jobs", type=int, default=None, help="Jobs per batch at most.")
def sync_command(
    data_dir: Path | None, as_json: bool, batch_events: int | None, batch_jobs: int | None
) -> None:
    """Push this HHT's jobs to its fleet office now, and fetch its packs."""
    from webapp.fleet.client.config import JoinError, joined
    from webapp.fleet.client.sync import BatchLimits, SyncError, store_loader, sync_once

    try:
        limits = BatchLimits(
            **{k: v for k, v in (("events", batch_events), ("jobs", batch_jobs)) if v is not None}
        )
    except ValueError as exc:
        fail(str(exc))
    from webapp.identity import terminal_identity
    from webapp.store.db import Store

    directory = resolve(data_dir)
    try:
        fleet_at = joined(directory)
    except JoinError as exc:
        fail(str(exc))
    if fleet_at is None:
        fail("this HHT joined no fleet office: hht fleet join URL")
    store = Store.open(directory)
    try:
        report = sync_once(
            store,
            fleet_at,
            terminal_identity(directory),
            loader=store_loader(store),
            limits=limits,
        )
    except SyncError as exc:
        fail(str(exc), 1)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(report.to_dict(), sort_keys=True))
    else:
        click.echo(
            f"synced: {report.batches} batches, {report.events} events, {report.jobs} jobs; "
            f"fleet holds events up to {report.chain_seq}; packs loaded: "
            f"{', '.join(report.packs_loaded) or 'none'}"
        )


@fleet.group("user")
def user_group() -> None:
    """Supervisors of the fleet's pages."""


@user_group.command("add")
@click.argument("username")
@click.option("--display-name", default="")
@dsn_option
def user_add(username: str, display_name: str, dsn: str) -> None:
    """Add a supervisor (password from $HHT_FLEET_PASSWORD, else asked)."""
    from webapp.auth.users import UserError
    from webapp.fleet.office.users import add

    password = os.environ.get(PASSWORD_ENV) or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    with _connect(dsn) as conn:
        try:
            add(conn, username, password, display_name)
        except UserError as exc:
            fail(str(exc))
    click.echo(f"supervisor {username} added")


@fleet.command("jobs")
@dsn_option
@json_option
def jobs_command(dsn: str, as_json: bool) -> None:
    """Every job the fleet holds: one JSON object a line with --json."""
    with _connect(dsn) as conn:
        rows = conn.execute(
            "SELECT h.name AS hht_name, j.hht_id, j.id, j.status, j.commands, j.answered, "
            "j.site, j.mpxn, j.installer, j.supplier_eui "
            "FROM jobs j JOIN hhts h ON h.id = j.hht_id "
            "ORDER BY j.hht_id, j.id"
        ).fetchall()
    for row in rows:
        if as_json:
            click.echo(json.dumps({"hht": row.pop("hht_id"), **row}, sort_keys=True))
        else:
            click.echo(
                f"{row['hht_name']:<16} {row['id']:<16} {row['status']:<10} "
                f"{row['answered']}/{row['commands']}"
            )


@fleet.command("publish")
@click.argument("pack", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--hht", default=None, help="The HHT (name or id) that loads it.")
@click.option("--installer", default=None, help="The installer whose HHT loads it.")
@dsn_option
def publish_command(pack: Path, hht: str | None, installer: str | None, dsn: str) -> None:
    """Publish a work pack for one HHT or one installer (fetched at its next sync)."""
    from webapp.fleet.office.packs import PackError, publish

    with _connect(dsn) as conn:
        try:
            row = publish(conn, pack.read_bytes(), actor="cli", hht=hht, installer=installer)
        except PackError as exc:
            fail(str(exc))
    click.echo(f"published {row['pack_id']} (#{row['id']})")


@fleet.command("unload")
@click.argument("supplier")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@dsn_option
@identity_options
def unload_command(
    supplier: str,
    out: Path,
    dsn: str,
    identity_dir: Path | None,
    signing_key: Path | None,
    signing_cert: Path | None,
) -> None:
    """Make the central DUIS unload of everything waiting for SUPPLIER (signed by the fleet)."""
    from webapp.fleet.office.unload import CentralUnloadError, make

    signer = _signer(identity_dir, signing_key, signing_cert, create=False)
    with _connect(dsn) as conn:
        try:
            made = make(conn, supplier.replace("-", "").upper(), "cli", signer)
        except CentralUnloadError as exc:
            fail(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"fleet-unload-{made.id:05d}-{made.supplier_eui}.zip"
    path.write_bytes(made.data)
    click.echo(f"{path}: {made.responses} answers, {made.hub_statuses} hub statuses")


@fleet.command("serve")
@dsn_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=int)
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--key", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option(
    "--behind-proxy",
    is_flag=True,
    help="HTTPS ends at a reverse proxy in front: plain HTTP on a non-loopback address.",
)
@click.option(
    "--workers",
    type=int,
    default=1,
    show_default=True,
    help="Server processes (more for a large fleet's ingest).",
)
@identity_options
def serve_command(
    dsn: str,
    host: str,
    port: int,
    cert: str | None,
    key: str | None,
    behind_proxy: bool,
    workers: int,
    identity_dir: Path | None,
    signing_key: Path | None,
    signing_cert: Path | None,
) -> None:
    """Run the fleet office (migrating its database first)."""
    from webapp.fleet.office.serve import ServeError, serve

    signer = _signer(identity_dir, signing_key, signing_cert)
    try:
        serve(
            dsn,
            host,
            port,
            cert=cert,
            key=key,
            behind_proxy=behind_proxy,
            signer=signer,
            workers=workers,
        )
    except ServeError as exc:
        fail(str(exc))
