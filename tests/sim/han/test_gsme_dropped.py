"""A gas meter that has dropped off its hub's HAN: the GPF passes it nothing but its
Method B join (CS03B), which re-joins it; then commands reach it again."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import FAST, SEED, START
from webapp.gbcs import der_build as der
from webapp.sim.command_payloads import DEVICE_TYPE_GPF, METHOD_B
from webapp.sim.han.clock import SimClock
from webapp.sim.han.gas_proxy import CS03B, DROPPED_OFF_REASON, joined_gpf
from webapp.sim.han.han import SimHan
from webapp.sim.han.hub import GSME_BUTTON_AWAKE_SECONDS

GCS28 = 0x007F
OTHER_GPF = "00DB00000000A001"


@pytest.fixture
def clock() -> SimClock:
    """Sim time stands still unless a test moves it."""
    return SimClock(FAST, start=START, monotonic=lambda: 0.0)


@pytest.fixture
def dropped(han):  # type: ignore[no-untyped-def]
    return han.add_site(name="2 Drop Lane", seed=SEED + 1, gsme_dropped=True)


def _join(gpf: str) -> bytes:
    return der.sequence(
        der.integer(METHOD_B), der.octet_string(bytes.fromhex(gpf)), der.integer(DEVICE_TYPE_GPF)
    )


def _wake(han: SimHan, site) -> None:  # type: ignore[no-untyped-def]
    """Press the gas meter's button and let it run what the GPF holds."""
    han.press_gsme_button(site.hub_id)
    han.clock.advance(GSME_BUTTON_AWAKE_SECONDS)
    han.pump()


def _ran(han: SimHan, eui: str) -> list[int]:
    return [r["message_code"] for r in han.device_log() if r["device"] == eui]


def _state(han: SimHan, site) -> str:  # type: ignore[no-untyped-def]
    return han.hub_status(site.hub_id)["gas_meter"]["state"]


def test_a_new_home_has_its_gas_meter_joined(han, site) -> None:
    status = han.hub_status(site.hub_id)["gas_meter"]
    assert status == {"eui": site.gsme_id, "state": "joined", "dropped_off_at": None}


def test_a_command_for_a_dropped_off_gas_meter_is_not_delivered(han, dropped, command) -> None:
    status = han.hub_status(dropped.hub_id)["gas_meter"]
    assert status["state"] == "dropped-off" and status["dropped_off_at"]
    assert han.hubs.submit(dropped.hub_id, command(dropped.gsme_id, 5, GCS28), "hht") == 0
    assert han.deliver_via_wan(command(dropped.gsme_id, 6, GCS28)) is None
    _wake(han, dropped)
    assert _ran(han, dropped.gsme_id) == []
    assert han.hubs.outbox_waiting(dropped.hub_id) == []
    reasons = [r["reason"] for r in han.rejections() if r["device"] == dropped.gsme_id]
    assert reasons == [DROPPED_OFF_REASON, DROPPED_OFF_REASON]


def test_the_join_reaches_it_and_rejoins_it_then_commands_do(han, dropped, command) -> None:
    assert han.hubs.submit(
        dropped.hub_id, command(dropped.gsme_id, 7, CS03B, _join(dropped.hub_id)), "hht"
    )
    assert _state(han, dropped) == "dropped-off"  # held at the GPF until the meter wakes
    _wake(han, dropped)
    assert _ran(han, dropped.gsme_id) == [CS03B]
    assert _state(han, dropped) == "joined"

    assert han.hubs.submit(dropped.hub_id, command(dropped.gsme_id, 8, GCS28), "hht")
    _wake(han, dropped)
    assert _ran(han, dropped.gsme_id) == [CS03B, GCS28]
    assert len(han.hubs.outbox_waiting(dropped.hub_id)) == 2


def test_a_join_naming_another_gpf_leaves_it_dropped_off(han, dropped, command) -> None:
    raw = command(dropped.gsme_id, 9, CS03B, _join(OTHER_GPF))
    assert han.hubs.submit(dropped.hub_id, raw, "hht")
    _wake(han, dropped)
    assert _ran(han, dropped.gsme_id) == [CS03B]
    assert _state(han, dropped) == "dropped-off"


def test_commands_held_when_it_drops_off_are_not_run(han, site, command) -> None:
    assert han.hubs.submit(site.hub_id, command(site.gsme_id, 10, GCS28), "hht")
    han.drop_off_gsme(site.hub_id)
    _wake(han, site)
    assert _ran(han, site.gsme_id) == []
    assert [r["reason"] for r in han.rejections()] == [DROPPED_OFF_REASON]


def test_the_cs03b_payload_names_the_gpf() -> None:
    assert joined_gpf(_join(OTHER_GPF)) == OTHER_GPF
    assert joined_gpf(b"\x01\x02") is None


def test_dropped_off_survives_a_restart(dropped, han) -> None:
    state_dir = han.state_dir
    han.close()
    again = SimHan.open(state_dir, clock=SimClock(FAST, start=START))
    try:
        assert _state(again, dropped) == "dropped-off"
    finally:
        again.close()
    conn = sqlite3.connect(state_dir / "han.db")
    try:
        (version,) = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    finally:
        conn.close()
    assert version == "5"


def test_sim_status_shows_the_gas_meter_dropped_off(tmp_path) -> None:
    import json

    from click.testing import CliRunner

    from webapp import config
    from webapp.cli import main

    han = SimHan.create(tmp_path / config.SIM_DIR, seed=SEED, clock=SimClock(FAST, start=START))
    try:
        home = han.add_site(name="3 Drop Lane", neighbours=0, gsme_dropped=True)
    finally:
        han.close()
    shown = CliRunner().invoke(main, ["sim", "status", "--data-dir", str(tmp_path), home.hub_id])
    assert shown.exit_code == 0, shown.output
    gas_meter = json.loads(shown.output)["gas_meter"]
    assert gas_meter["eui"] == home.gsme_id and gas_meter["state"] == "dropped-off"
