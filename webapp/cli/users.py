"""``hht user``: add, disable or reset the people who log in."""

from __future__ import annotations

from pathlib import Path

import click

from webapp.cli.common import data_dir_option, fail, open_store


@click.group()
def user() -> None:
    """Add, disable or reset users."""


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

    try:
        with open_store(data_dir).write() as db:
            added = add_user(db, username, role, secret, display_name)
    except UserError as exc:
        fail(str(exc))
    click.echo(f"Added {added.role} {added.username}")


@user.command("disable")
@data_dir_option
@click.argument("username")
def user_disable(data_dir: Path | None, username: str) -> None:
    """Stop a user logging in."""
    from webapp.auth.users import UserError, set_disabled

    try:
        with open_store(data_dir).write() as db:
            set_disabled(db, username, True)
    except UserError as exc:
        fail(str(exc))
    click.echo(f"Disabled {username}")


@user.command("reset")
@data_dir_option
@click.argument("username")
@click.option("--secret", prompt="New PIN or password", hide_input=True, confirmation_prompt=True)
def user_reset(data_dir: Path | None, username: str, secret: str) -> None:
    """Set a new PIN or password (and clear a lock-out)."""
    from webapp.auth.users import UserError, reset_secret

    try:
        with open_store(data_dir).write() as db:
            reset_secret(db, username, secret)
    except UserError as exc:
        fail(str(exc))
    click.echo(f"Reset {username}")
