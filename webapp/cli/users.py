"""``hht user``: add, disable or reset the people who log in.

A PIN or password never goes on the command line, where every user of the machine can
read it (``ps``, ``/proc/PID/cmdline``) and the shell keeps it in its history: it is
typed at a prompt (hidden, twice), or, when standard input is not a terminal, read as
its first line (``printf '%s\\n' "$PIN" | hht user add ...``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from webapp.cli.common import data_dir_option, fail, open_store

ADD_PROMPT = "PIN or password"
RESET_PROMPT = "New PIN or password"
MAX_SECRET_CHARS = 1024  # far beyond any PIN or password; a runaway pipe stops here
SECRET_OPTION_REMOVED = (
    "--secret was removed: a PIN on the command line is visible to every user of this "
    "machine and stays in your shell history. Type it when asked, or give it on standard "
    "input, for example: printf '%s\\n' \"$PIN\" | hht user add NAME --role installer"
)


def _refuse_secret_option(_ctx: click.Context, _param: click.Parameter, value: Any) -> None:
    if value is not None:
        raise click.UsageError(SECRET_OPTION_REMOVED)


#: The old option, kept hidden only to say why it is gone.
removed_secret_option = click.option(
    "--secret", hidden=True, expose_value=False, callback=_refuse_secret_option
)


def read_secret(prompt: str) -> str:
    """The PIN or password: asked for (hidden, twice) on a terminal, else the first line
    of standard input."""
    stdin = click.get_text_stream("stdin")
    if stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    secret = stdin.readline(MAX_SECRET_CHARS + 1).rstrip("\r\n")
    if not secret:
        fail(f"no {prompt.lower()} on standard input: give it as its first line")
    if len(secret) > MAX_SECRET_CHARS:
        fail(f"the {prompt.lower()} on standard input is longer than {MAX_SECRET_CHARS}")
    return secret


@click.group()
def user() -> None:
    """Add, disable or reset users."""


@user.command("add")
@data_dir_option
@click.argument("username")
@click.option("--role", type=click.Choice(["installer", "supervisor"]), required=True)
@click.option("--name", "display_name", default="", help="Full name shown on pages.")
@removed_secret_option
def user_add(data_dir: Path | None, username: str, role: str, display_name: str) -> None:
    """Add a user (installers log in with a PIN, supervisors with a password).

    The PIN or password is asked for, or read from standard input when that is not a
    terminal; never give it on the command line."""
    from webapp.auth.users import CONSOLE_ACTOR, UserError, add_user

    secret = read_secret(ADD_PROMPT)
    try:
        with open_store(data_dir).write() as db:
            added = add_user(db, username, role, secret, display_name, actor=CONSOLE_ACTOR)
    except UserError as exc:
        fail(str(exc))
    click.echo(f"Added {added.role} {added.username}")


@user.command("disable")
@data_dir_option
@click.argument("username")
def user_disable(data_dir: Path | None, username: str) -> None:
    """Stop a user logging in."""
    from webapp.auth.users import CONSOLE_ACTOR, UserError, set_disabled

    try:
        with open_store(data_dir).write() as db:
            set_disabled(db, username, True, actor=CONSOLE_ACTOR)
    except UserError as exc:
        fail(str(exc))
    click.echo(f"Disabled {username}")


@user.command("reset")
@data_dir_option
@click.argument("username")
@removed_secret_option
def user_reset(data_dir: Path | None, username: str) -> None:
    """Set a new PIN or password (and clear a lock-out).

    The new PIN or password is asked for, or read from standard input when that is not
    a terminal."""
    from webapp.auth.users import CONSOLE_ACTOR, UserError, reset_secret

    secret = read_secret(RESET_PROMPT)
    try:
        with open_store(data_dir).write() as db:
            reset_secret(db, username, secret, actor=CONSOLE_ACTOR)
    except UserError as exc:
        fail(str(exc))
    click.echo(f"Reset {username}")
