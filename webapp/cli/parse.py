"""``hht parse``: GBCS messages from files or hex strings, as a readable tree or JSON.

Only click and the GBCS codec are imported: the command starts reading at once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

SHOWN_SOURCE_LENGTH = 80


def _is_file(name: str) -> bool:
    try:
        return Path(name).is_file()
    except OSError:  # e.g. a long hex string is no file name
        return False


def _source(item: str) -> str:
    """How an input is named in the output: a file name, or a hex string cut short."""
    if len(item) <= SHOWN_SOURCE_LENGTH or _is_file(item):
        return item
    return item[: SHOWN_SOURCE_LENGTH - 3] + "..."


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input, per line.")
@click.option(
    "--certs",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Directory of signers' certificates (<eui>-ds.pem) to verify signatures.",
)
@click.argument("inputs", nargs=-1, required=True)
def parse(as_json: bool, certs: Path | None, inputs: tuple[str, ...]) -> None:
    """Parse GBCS messages: INPUT is a file of hex or base64, or a hex string."""
    from webapp.gbcs.describe import describe, parse_input, render_text
    from webapp.gbcs.errors import GbcsError
    from webapp.gbcs.signing import CertificateStore

    store = CertificateStore.from_directory(certs) if certs else None
    failed = 0
    for item in inputs:
        source = _source(item)
        try:
            described = describe(parse_input(item), store)
        except GbcsError as exc:
            failed += 1
            click.echo(f"hht parse: {source}: malformed GBCS: {exc}", err=True)
            continue
        except OSError as exc:
            failed += 1
            click.echo(f"hht parse: {source}: cannot read: {exc.strerror or exc}", err=True)
            continue
        if as_json:
            click.echo(json.dumps({"source": source, **described}, separators=(",", ":")))
        else:
            click.echo(f"== {source}")
            click.echo(render_text(described))
    if failed:
        sys.exit(2)
