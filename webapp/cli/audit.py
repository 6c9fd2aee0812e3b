"""``hht audit verify``: walk the job event log's audit chain (README, "Checking the audit
chain").

Exit 0 when every event's row, link and HMAC check and every recorded head matches the
log; 1 when the chain is broken (the first broken event named, with what is wrong); 2 when
it cannot be checked (no database, or the audit key missing or readable by others).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from webapp.cli.common import data_dir_option, fail, json_option, resolve

INTACT, BROKEN = 0, 1
#: Problems printed after the first (all of them are in --json).
SHOWN_PROBLEMS = 10


@click.group()
def audit() -> None:
    """The job event log's keyed audit chain."""


@audit.command("verify")
@data_dir_option
@json_option
def verify(data_dir: Path | None, as_json: bool) -> None:
    """Walk the whole audit chain: exit 0 when intact, 1 naming the first broken event."""
    from webapp.store.audit.key import AuditKeyError
    from webapp.store.audit.state import verify_and_record
    from webapp.store.db import DB_FILENAME, Store

    directory = resolve(data_dir)
    if not (directory / DB_FILENAME).is_file():
        fail(f"no HHT database in {directory}")
    try:
        store = Store.open(directory)
    except AuditKeyError as exc:
        fail(str(exc))
    try:
        report = verify_and_record(store)
    except AuditKeyError as exc:
        fail(str(exc))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"data_dir": str(directory), **report.to_dict()}, indent=1))
    elif report.intact:
        click.echo(
            f"Audit chain intact: events {report.first_seq} to {report.last_seq}, every row, "
            "link and HMAC checked, every recorded head matches; this head is now recorded."
        )
        click.echo(f"Head: event {report.last_seq}, link {report.last_link}")
    else:
        first = report.problems[0]
        click.echo(
            f"AUDIT CHAIN BROKEN at event {first.seq if first.seq is not None else '?'}: "
            f"{first.detail} [{first.kind}]"
        )
        for problem in report.problems[1 : 1 + SHOWN_PROBLEMS]:
            click.echo(f"  then event {problem.seq}: {problem.detail} [{problem.kind}]")
        more = len(report.problems) - 1 - SHOWN_PROBLEMS + report.more_problems
        if more > 0:
            click.echo(f"  and {more} more problems (--json lists them)")
    sys.exit(INTACT if report.intact else BROKEN)
