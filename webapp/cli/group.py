"""The ``hht`` command group: every subcommand but the fast path of ``hht parse``.

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
    "parse": "webapp.cli.group:parse_command",
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
    "audit": "webapp.cli.audit:audit",
    "identity": "webapp.cli.fleet:identity",
    "fleet": "webapp.cli.fleet:fleet",
    "fleet-demo": "webapp.cli.fleet_demo:fleet_demo",
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


@click.command(
    "parse",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def parse_command(args: tuple[str, ...]) -> None:
    """Parse GBCS messages: INPUT is a file of hex or base64, or a hex string."""
    from webapp.cli.parse import main as parse_main

    sys.exit(parse_main(list(args)))
