"""``hht sim``: look at and act on the simulated HAN (the stand-in for real homes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from webapp import config
from webapp.cli.common import data_dir_option, fail, json_option, resolve

if TYPE_CHECKING:
    from webapp.sim.han.han import SimHan


@click.group()
def sim() -> None:
    """Look at and act on the simulated HAN (it stands for the real homes)."""


def _open_han(data_dir: Path | None) -> SimHan:
    from webapp.sim.han.han import SimHan

    sim_dir = resolve(data_dir) / config.SIM_DIR
    if not sim_dir.exists():
        fail(f"No simulated HAN in {sim_dir.parent}; run 'hht init --demo' first.")
    return SimHan.open(sim_dir)


@sim.command("log")
@data_dir_option
@json_option
def sim_log(data_dir: Path | None, as_json: bool) -> None:
    """Each simulated device's log of executed commands."""
    han = _open_han(data_dir)
    try:
        rows = [
            {
                "device": r["device"],
                "counter": r["counter"],
                "message_code": r["message_code"],
                "executions": r["executions"],
                **({"route": r["route"]} if "route" in r else {}),
            }
            for r in han.device_log()
        ]
    finally:
        han.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(
            f"{r['device']} counter {r['counter']} code {r['message_code']} x{r['executions']}"
        )


@sim.command("wake-gsme")
@data_dir_option
@click.argument("hub_id")
def sim_wake(data_dir: Path | None, hub_id: str) -> None:
    """Press the gas meter's button at the home whose hub is HUB_ID."""
    han = _open_han(data_dir)
    try:
        han.press_gsme_button(hub_id.upper())
    finally:
        han.close()


@sim.command("power-cycle")
@data_dir_option
@click.argument("hub_id")
def sim_power_cycle(data_dir: Path | None, hub_id: str) -> None:
    """Switch a hub off and on: its Inter-PAN window opens for 60 minutes."""
    han = _open_han(data_dir)
    try:
        han.power_cycle(hub_id.upper())
    finally:
        han.close()


@sim.command("wan")
@data_dir_option
@click.argument("hub_id")
@click.argument("state", type=click.Choice(["up", "down"]))
def sim_wan(data_dir: Path | None, hub_id: str, state: str) -> None:
    """Switch a hub's WAN connection up or down."""
    han = _open_han(data_dir)
    try:
        han.set_wan(hub_id.upper(), state == "up")
    finally:
        han.close()


@sim.command("meter-menu")
@data_dir_option
@json_option
@click.argument("hub_id")
@click.option(
    "--meter",
    type=click.Choice(["esme", "gsme"]),
    default="esme",
    show_default=True,
    help="Whose installer menu: the electricity or the gas meter's.",
)
@click.option(
    "--pin",
    prompt="Installer PIN",
    hide_input=True,
    help="The visit's installer PIN, as typed on the meter's keypad (asked if not given).",
)
def sim_meter_menu(data_dir: Path | None, as_json: bool, hub_id: str, meter: str, pin: str) -> None:
    """Play the installer at a meter of HUB_ID's home: type PIN into its installer menu,
    which asks the hub to open its pairing window. Prints what the meter's display says."""
    han = _open_han(data_dir)
    try:
        try:
            result = han.meter_menu(hub_id.upper(), meter, pin)
        except (KeyError, ValueError) as exc:
            fail(str(exc).strip("'\""))
        status = han.hub_status(hub_id.upper())
    finally:
        han.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    **result.to_dict(),
                    "meter": meter,
                    "hub_id": status["hub_id"],
                    "window_open": status["interpan_open"],
                    "window_closes_at": status["window_closes_at"],
                },
                indent=2,
            )
        )
    else:
        click.echo(f"{meter.upper()} display: {result.display}")
    if result.outcome != "window-open":
        raise SystemExit(1)


@sim.command("status")
@data_dir_option
@click.argument("hub_id")
def sim_status(data_dir: Path | None, hub_id: str) -> None:
    """A hub's state: its pairing window (and why it is open), WAN, and its device log."""
    han = _open_han(data_dir)
    try:
        try:
            status = han.hub_status(hub_id.upper())
            status["device_log"] = han.chf_device_log(hub_id.upper())
        except KeyError as exc:
            fail(str(exc).strip("'\""))
    finally:
        han.close()
    click.echo(json.dumps(status, indent=2))
