"""``hht backup`` and ``hht restore``: a consistent copy of the database, and putting one back."""

from __future__ import annotations

import os
from pathlib import Path

import click

from webapp.cli.common import data_dir_option, fail, open_store, resolve
from webapp.files import PRIVATE_FILE_MODE, private_umask


@click.command()
@data_dir_option
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup(data_dir: Path | None, destination: Path) -> None:
    """Write a consistent copy of the database (VACUUM INTO), readable by its owner only."""
    import sqlite3

    store = open_store(data_dir)
    try:
        with private_umask():  # SQLite creates the file: owner-only from the start
            store.backup(destination)
    except FileExistsError as exc:
        fail(str(exc))
    except sqlite3.OperationalError as exc:
        fail(f"cannot write {destination}: {exc}")
    finally:
        store.close()
    os.chmod(destination, PRIVATE_FILE_MODE)
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
