"""``hht scan`` and ``hht connect``: what the configured radio hears, and reaching one hub."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from webapp.cli.common import (
    data_dir_option,
    fail,
    json_option,
    keys_path,
    pcap_option,
    resolve,
)
from webapp.zigbee.drivers.base import STAGE_LABELS, ConnectStage, RadioError

if TYPE_CHECKING:
    from webapp.station import OpenedRadio
    from webapp.zigbee.capture import Capture

log = logging.getLogger(__name__)


radio_option = click.option(
    "--radio",
    default="sim",
    show_default=True,
    help="sim, ezsp:PORT, deconz:PORT or auto, as for 'hht serve'.",
)


async def _radio(data_dir: Path, radio: str) -> OpenedRadio:
    """The radio ``--radio`` names, opened as the server opens it (its notice on stderr)."""
    from webapp.station import StationError, open_radio

    try:
        opened = await open_radio(data_dir, radio)
    except StationError as exc:
        raise click.ClickException(str(exc)) from exc
    if opened.notice:
        click.echo(opened.notice, err=True)
    return opened


def _expected_hubs(data_dir: Path) -> dict[str, str]:
    """Expected hub id -> job id, for jobs that name their hub."""
    from webapp.store.db import Store

    try:
        db = Store.open(data_dir).reader()
        rows = db.query("SELECT job_id, hub_id FROM device_sets ORDER BY job_id, seq")
        return {str(r["hub_id"]).upper(): r["job_id"] for r in rows}
    except Exception:  # noqa: BLE001 - a scan works without a job database
        log.debug("no job database to mark expected hubs", exc_info=True)
        return {}


@click.command("scan")
@data_dir_option
@radio_option
@json_option
def scan_command(data_dir: Path | None, radio: str, as_json: bool) -> None:
    """List the hubs and networks the radio hears, strongest first."""
    directory = resolve(data_dir)
    expected = _expected_hubs(directory)
    radio_name = radio

    async def scan() -> list[dict]:
        opened = await _radio(directory, radio_name)
        try:
            beacons = await opened.driver.active_scan()
        finally:
            await opened.close()
        return [
            {**b.to_dict(), "expected_by_job": expected.get(b.extended_pan_id)} for b in beacons
        ]

    rows = asyncio.run(scan())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        window = {True: "open", False: "closed", None: "?"}[r["interpan_open"]]
        job = f"  expected by job {r['expected_by_job']}" if r["expected_by_job"] else ""
        click.echo(
            f"ch {r['channel']:2} PAN {r['pan_id']:04X} {r['extended_pan_id']} "
            f"LQI {r['lqi']:3} {r['band']:7} window {window}{job}"
        )


@click.command("connect")
@click.argument("hub_id")
@data_dir_option
@radio_option
@json_option
@pcap_option
def connect_command(
    hub_id: str, data_dir: Path | None, radio: str, as_json: bool, pcap: Path | None
) -> None:
    """Run the connection flow to HUB_ID and print each stage with its duration."""
    directory = resolve(data_dir)
    radio_name = radio
    stages: list[dict] = []
    started = time.monotonic()
    mark = [started]

    def on_stage(stage: ConnectStage) -> None:
        now = time.monotonic()
        if stages:
            stages[-1]["seconds"] = round(now - mark[0], 3)
            stages[-1]["result"] = "ok"
        stages.append({"stage": stage.value, "label": STAGE_LABELS[stage]})
        mark[0] = now

    async def connect() -> dict:
        opened = await _radio(directory, radio_name)
        capture = _open_capture(pcap, f"hht connect {hub_id}")
        if capture is not None:
            opened.driver.record_to(capture)
        try:
            link = await opened.driver.connect(hub_id, on_stage)
            await link.close()
            error = None
        except RadioError as exc:
            error = {"code": exc.code.value, "instruction": exc.instruction}
        finally:
            if capture is not None:
                opened.driver.record_to(None)
                capture.close()
                _write_keys(pcap, opened.driver.capture_keys())
            await opened.close()
        if stages:
            stages[-1].setdefault("seconds", round(time.monotonic() - mark[0], 3))
            stages[-1].setdefault("result", "failed" if error else "ok")
        return {"hub_id": hub_id, "stages": stages, "error": error}

    result = asyncio.run(connect())
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        for s in result["stages"]:
            click.echo(f"{s['label']:40} {s['seconds']:8.3f} s  {s['result']}")
        if result["error"]:
            click.echo(f"Failed: {result['error']['instruction']}")
    if result["error"]:
        raise SystemExit(1)


def _open_capture(pcap: Path | None, description: str) -> Capture | None:
    """A new capture at ``pcap`` (replacing an older file there), or None without one."""
    if pcap is None:
        return None
    from webapp.zigbee.capture import Capture, CaptureError

    if pcap.is_file():
        pcap.unlink()
    try:
        return Capture.open(pcap, description=description)
    except CaptureError as exc:
        fail(str(exc))


def _write_keys(pcap: Path | None, keys: list[bytes]) -> None:
    if pcap is None or not keys:
        return
    from webapp.zigbee.capture import write_keys_file

    write_keys_file(keys_path(pcap), keys)


@click.group("zigbee")
def zigbee_group() -> None:
    """This terminal's own Zigbee credentials (certificate, keys, install code)."""


@zigbee_group.command("provision")
@click.option("--certificate", required=True, help="Suite-2 certificate, 74 octets in hex.")
@click.option("--private-key", required=True, help="The certificate's private key in hex.")
@click.option("--ca-public-key", required=True, help="The CA's public key (37 octets, hex).")
@click.option("--install-code", required=True, help="Install code with its CRC, in hex.")
@data_dir_option
def provision_command(
    certificate: str,
    private_key: str,
    ca_public_key: str,
    install_code: str,
    data_dir: Path | None,
) -> None:
    """Check and store this terminal's credentials (owner-only file in the data dir)."""
    from webapp.zigbee.provisioning import (
        ProvisioningError,
        describe_credentials,
        parse_provisioned,
        save_credentials,
    )

    try:
        provisioned = parse_provisioned(certificate, private_key, ca_public_key, install_code)
    except ProvisioningError as exc:
        raise click.ClickException(str(exc)) from exc
    path = save_credentials(resolve(data_dir), provisioned)
    facts = describe_credentials(provisioned)
    click.echo(f"Stored credentials for {facts['subject']} (issuer {facts['issuer']}) in {path}")


@zigbee_group.command("show")
@data_dir_option
def show_command(data_dir: Path | None) -> None:
    """Print the public facts of the stored credentials (never the keys)."""
    from webapp.zigbee.provisioning import (
        ProvisioningError,
        describe_credentials,
        load_credentials,
    )

    try:
        provisioned = load_credentials(resolve(data_dir))
    except ProvisioningError as exc:
        raise click.ClickException(str(exc)) from exc
    if provisioned is None:
        raise click.ClickException("No Zigbee credentials are provisioned in this data dir.")
    click.echo(json.dumps(describe_credentials(provisioned), indent=2))
