"""``hht backup`` and ``hht restore``: a consistent copy of the database, and putting one back."""

from __future__ import annotations

from pathlib import Path

import click

from webapp.cli.common import data_dir_option, fail, open_store, resolve


@click.command()
@data_dir_option
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup(data_dir: Path | None, destination: Path) -> None:
    """Write a consistent copy of the database (VACUUM INTO)."""
    store = open_store(data_dir)
    try:
        store.backup(destination)
    except FileExistsError as exc:
        fail(str(exc))
    click.echo(f"Backed up to {destination}")


@click.command("restore")
@data_dir_option
@click.argument("backup_file", type=click.Path(dir_okay=False, path_type=Path))
def restore_command(data_dir: Path | None, backup_file: Path) -> None:
    """Replace the database with a backup (stop the server first); the current one is kept."""
    from webapp.store.db import restore

    try:
        kept = restore(resolve(data_dir), backup_file)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    click.echo(f"Restored {backup_file}; the database it replaced is kept as {kept}")
