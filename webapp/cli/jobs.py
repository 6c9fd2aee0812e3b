"""``hht jobs`` and ``hht run-job``: list the jobs, and run one without the web server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from webapp.cli.common import (
    data_dir_option,
    fail,
    json_option,
    open_store,
    pcap_option,
    resolve,
)

FAST_TIME_SCALE = 1000.0


@click.command()
@data_dir_option
@json_option
def jobs(data_dir: Path | None, as_json: bool) -> None:
    """List jobs."""
    db = open_store(data_dir).reader()
    rows = [
        {
            "id": r["id"],
            "site": r["site"],
            "mpxn": r["mpxn"],
            "supplier": r["supplier_eui"],
            "status": r["status"],
            "appointment": r["appointment"],
        }
        for r in db.query("SELECT * FROM jobs ORDER BY appointment, id")
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['id']:14} {r['status']:10} {r['mpxn']:14} {r['site']}")


@click.command("run-job")
@data_dir_option
@click.argument("job_id")
@click.option("--fast", is_flag=True, help="Simulated time runs 1000x faster.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pcap_option
def run_job(
    data_dir: Path | None, job_id: str, fast: bool, as_json: bool, pcap: Path | None
) -> None:
    """Run (or resume) one job on the simulated HAN without the web server."""
    import asyncio

    from webapp.cli.run_job import run_job_headless

    try:
        result = asyncio.run(
            run_job_headless(resolve(data_dir), job_id, FAST_TIME_SCALE if fast else 1.0, pcap=pcap)
        )
    except Exception as exc:  # noqa: BLE001 - the message is what the user needs
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f"Job {result['job_id']}: {result['status']}")
        if result.get("outcome"):
            click.echo(f"Stopped ({result['outcome']}): {result['instruction']}")
            if result.get("simulator"):
                click.echo(f"On the simulated HAN: {result['simulator']}")
        if result.get("capture"):
            capture = result["capture"]
            click.echo(f"Capture: {capture['path']} ({capture['frames']} frames)")
        for c in result["commands"]:
            click.echo(
                f"  {c['seq']:3} {c['use_case']:8} counter {c['counter']} {c['state']:10} "
                f"attempts {c['attempts']} {c['outcome'] or ''}"
            )
    if result["status"] not in ("completed",):
        sys.exit(1)
