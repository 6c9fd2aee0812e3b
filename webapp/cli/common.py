"""What every ``hht`` command shares: the ``--data-dir`` and ``--json`` options, and failing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from webapp import config

if TYPE_CHECKING:
    from webapp.store.db import Store

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Where the HHT keeps its data (default: ${config.DATA_DIR_ENV} or ./var).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
pcap_option = click.option(
    "--pcap",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every radio frame into this pcapng file for Wireshark (on the simulator, "
    "also FILE.keys: the network and link keys that open it).",
)


def keys_path(pcap: Path) -> Path:
    """Where the keys that open capture ``pcap`` go: ``pcap`` with ``.keys`` appended."""
    return pcap.with_name(pcap.name + ".keys")


def resolve(data_dir: Path | None) -> Path:
    """The data directory: ``--data-dir``, else the environment, else ``./var``."""
    return config.resolve_data_dir(data_dir)


def open_store(data_dir: Path | None) -> Store:
    """The database in the data directory."""
    from webapp.store.db import Store

    return Store.open(resolve(data_dir))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``hht: message`` on standard error and exit with ``code``."""
    click.echo(f"hht: {message}", err=True)
    sys.exit(code)
