"""The ``hht`` command: the top-level group and the console script.

Each subcommand lives in its own module and is imported only when it runs (or when
``hht --help`` lists them all).
"""

from __future__ import annotations

import sys

import click

from webapp.cli.lazy import LazyGroup

COMMANDS = {
    "init": "webapp.cli.init:init",
    "user": "webapp.cli.users:user",
    "jobs": "webapp.cli.jobs:jobs",
    "run-job": "webapp.cli.jobs:run_job",
    "parse": "webapp.cli.parse:parse",
    "sim": "webapp.cli.sim:sim",
    "serve": "webapp.cli.serve:serve",
    "url": "webapp.cli.serve:url",
    "tls": "webapp.cli.serve:tls",
    "backup": "webapp.cli.store:backup",
    "restore": "webapp.cli.store:restore_command",
    "supplier": "webapp.cli.workpack:supplier",
    "workpack": "webapp.cli.workpack:workpack",
    "survey": "webapp.cli.workpack:survey",
    "scan": "webapp.cli.radio:scan_command",
    "connect": "webapp.cli.radio:connect_command",
    "zigbee": "webapp.cli.radio:zigbee_group",
}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """HHT: the installer's Hand Held Terminal for GB smart meters."""
    import logging

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def run() -> None:
    """The console script: a corrupt database is reported plainly, never as a traceback."""
    try:
        main()
    except Exception as exc:
        from webapp.store.db import CorruptDatabaseError

        if not isinstance(exc, CorruptDatabaseError):
            raise
        click.echo(f"hht: {exc}", err=True)
        sys.exit(3)


if __name__ == "__main__":
    run()
