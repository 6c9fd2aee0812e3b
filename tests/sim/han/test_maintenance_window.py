"""An installed home: its hub's window is closed, and the two ways to reopen it (the meter's
installer menu, in bytes on the HAN, and the hub's own no-WAN policy); a replaced device."""

from __future__ import annotations

import pytest

from tests.conftest import FAST, START
from tests.sim.conftest import connect, run
from webapp.sim.han.clock import SimClock
from webapp.sim.han.meter_menu import MENU_LOCK_SECONDS, MENU_TRIES
from webapp.sim.han.window import WAN_LOSS_GRACE_SECONDS
from webapp.zigbee.drivers.base import ErrorCode, RadioError

PIN = "482913"


@pytest.fixture
def clock() -> SimClock:
    return SimClock(FAST, start=START, monotonic=lambda: 0.0)


@pytest.fixture
def home(han):  # type: ignore[no-untyped-def]
    site = han.add_site(name="5 Old Road", installed=True, neighbours=0, unknown_networks=0)
    han.set_installer_pin(site.hub_id, PIN)
    return site


def test_an_installed_homes_hub_takes_no_new_terminal(han, home) -> None:
    beacon = next(b for b in run(han.driver().active_scan()) if b.extended_pan_id == home.hub_id)
    assert not beacon.interpan_open
    with pytest.raises(RadioError) as err:
        run(connect(han, home.hub_id))
    assert err.value.code is ErrorCode.WINDOW_CLOSED
    assert [d["kind"] for d in han.chf_device_log(home.hub_id)] == ["esme", "gsme", "ihd"]


@pytest.mark.parametrize("meter", ["esme", "gsme"])
def test_the_right_pin_on_a_meters_menu_opens_the_window(han, home, meter) -> None:
    result = han.meter_menu(home.hub_id, meter, PIN)
    assert (result.outcome, result.display) == ("window-open", "WINDOW OPEN 30 MIN")
    status = han.hub_status(home.hub_id)
    assert status["interpan_open"] and status["window_reason"] == "meter-menu"
    assert han.frames.endpoint(home.hub_id).dropped.total() == 0
    assert run(connect(han, home.hub_id)).is_open


def test_three_wrong_pins_lock_the_menu_for_a_while(han, home, clock) -> None:
    shown = [han.meter_menu(home.hub_id, "esme", "000000").display for _ in range(MENU_TRIES)]
    assert shown == ["WRONG PIN 1/3", "WRONG PIN 2/3", "MENU LOCKED 10 MIN"]
    locked = han.meter_menu(home.hub_id, "esme", PIN)
    assert locked.outcome == "locked"
    assert not han.hub_status(home.hub_id)["interpan_open"]
    clock.advance(MENU_LOCK_SECONDS)
    assert han.meter_menu(home.hub_id, "esme", PIN).outcome == "window-open"


def test_a_window_request_from_a_device_out_of_the_device_log_is_refused(han, home) -> None:
    with han.store.atomic():
        han.store.execute("UPDATE devices SET in_device_log = 0 WHERE eui = ?", [home.esme_id])
    with pytest.raises(KeyError):
        han.meter_menu(home.hub_id, "esme", PIN)
    with pytest.raises(ValueError, match="installer menu"):
        han.meter_menu(home.hub_id, "ihd", PIN)
    assert not han.hub_status(home.hub_id)["interpan_open"]


def test_the_menus_window_closes_after_its_time(han, home, clock) -> None:
    han.meter_menu(home.hub_id, "esme", PIN)
    clock.advance(31 * 60)
    assert not han.hub_status(home.hub_id)["interpan_open"]


def test_a_hub_with_the_no_wan_policy_opens_its_window_while_its_wan_is_down(
    han, home, clock
) -> None:
    other = han.add_site(
        name="9 Old Road", installed=True, opens_without_wan=True, neighbours=0, unknown_networks=0
    )
    han.set_wan(other.hub_id, False)
    han.set_wan(home.hub_id, False)  # no policy: stays closed
    assert not han.hub_status(other.hub_id)["interpan_open"]
    clock.advance(WAN_LOSS_GRACE_SECONDS)
    status = han.hub_status(other.hub_id)
    assert status["interpan_open"] and status["window_reason"] == "no-wan"
    assert not han.hub_status(home.hub_id)["interpan_open"]
    assert run(connect(han, other.hub_id)).is_open
    han.set_wan(other.hub_id, True)
    assert not han.hub_status(other.hub_id)["interpan_open"]


def test_a_replacement_is_not_routed_to_until_the_hub_logs_it(han, home) -> None:
    new = han.add_replacement(home.hub_id, "esme")
    assert new != home.esme_id
    assert han.add_replacement(home.hub_id, "esme") == new  # made once
    assert new not in {d["eui"] for d in han.chf_device_log(home.hub_id)}
    assert han.site(home.name).esme_id == home.esme_id
