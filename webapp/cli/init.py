"""``hht init``: the data directory, the database and (with ``--demo``) the demo."""

from __future__ import annotations

from pathlib import Path

import click

from webapp import config
from webapp.cli.common import data_dir_option, fail, resolve


@click.command()
@data_dir_option
@click.option("--demo", is_flag=True, help="Add demo users, a simulated street and jobs.")
def init(data_dir: Path | None, demo: bool) -> None:
    """Create the data directory and database (and demo data)."""
    from webapp.store.db import Store

    directory = config.ensure_private_dir(resolve(data_dir))
    Store.open(directory).close()
    config.secret_key(directory)
    click.echo(f"Data directory: {directory}")
    if demo:
        if (directory / config.SIM_DIR).exists():
            fail(f"{directory} already has demo data; use a new --data-dir to start again.")
        from webapp.sim.demo import (
            DEMO_INSTALLER,
            DEMO_INSTALLER_2,
            DEMO_SUPERVISOR,
            create_demo,
            demo_visits,
        )

        jobs = create_demo(directory)
        click.echo(f"Demo jobs: {', '.join(jobs)}")
        for visit in demo_visits(directory):
            click.echo(
                f"Maintenance visit {visit['job']} ({visit['site']}, hub {visit['hub']}): "
                f"meter menu PIN {visit['pin']}"
            )
        for username, _name, secret in (DEMO_INSTALLER, DEMO_INSTALLER_2):
            click.echo(f"Installer login: {username} / PIN {secret}")
        click.echo(f"Supervisor login: {DEMO_SUPERVISOR[0]} / password {DEMO_SUPERVISOR[2]}")
