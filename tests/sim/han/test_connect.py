"""Scanning and connecting: beacons, the Inter-PAN window, unknown hubs, radio bands."""

from __future__ import annotations

import pytest

from tests.conftest import FAST, START
from tests.sim.conftest import connect, run
from webapp.sim.han.clock import SimClock
from webapp.sim.han.hub import INTERPAN_WINDOW_SECONDS
from webapp.zigbee.drivers.base import (
    BAND_2_4_GHZ,
    BAND_868_MHZ,
    ConnectStage,
    ErrorCode,
    RadioError,
)


@pytest.fixture
def clock() -> SimClock:
    return SimClock(FAST, start=START, monotonic=lambda: 0.0)


def test_scan_lists_home_hub_strongest(han, site) -> None:
    beacons = run(han.driver().active_scan())
    assert len(beacons) == 1 + 1 + 2  # home hub, one neighbour, two foreign networks
    assert beacons[0].extended_pan_id == site.hub_id
    assert beacons[0].interpan_open and beacons[0].permit_join
    assert [b.rssi for b in beacons] == sorted((b.rssi for b in beacons), reverse=True)
    assert site.neighbour_hub_ids[0] in {b.extended_pan_id for b in beacons}
    assert all(11 <= b.channel <= 26 and b.band == BAND_2_4_GHZ for b in beacons)
    only = run(han.driver().active_scan([beacons[0].channel]))
    assert beacons[0] in only and all(b.channel == beacons[0].channel for b in only)


def test_position_limits_what_is_heard(han, site) -> None:
    other = han.add_site(name="Far Away", neighbours=0, unknown_networks=0)
    everywhere = {b.extended_pan_id for b in run(han.driver().active_scan())}
    assert {site.hub_id, other.hub_id} <= everywhere
    here = {b.extended_pan_id for b in run(han.driver(position="Far Away").active_scan())}
    assert here == {other.hub_id}
    with pytest.raises(RadioError) as err:
        run(han.driver(position="Far Away").connect(site.hub_id))
    assert err.value.code is ErrorCode.NOT_FOUND


def test_move_to_a_hub(han, site) -> None:
    other = han.add_site(name="Next Door", neighbours=0, unknown_networks=0)
    driver = han.driver()
    driver.move_to(other.hub_id)
    assert [b.extended_pan_id for b in run(driver.active_scan())] == [other.hub_id]
    driver.move_to("00DB000000000000")
    assert driver.radio.position == "Next Door"
    driver.move_to(site.neighbour_hub_ids[0])
    assert driver.radio.position == site.name


def test_stages_reported_in_order(han, site) -> None:
    seen: list[ConnectStage] = []
    link = run(han.driver().connect(site.hub_id.lower(), seen.append))
    assert seen == list(ConnectStage)
    assert link.is_open and link.hub_id == site.hub_id


def test_window_closes_after_an_hour_and_power_cycle_reopens(han, site) -> None:
    run(connect(han, site.hub_id))
    han.clock.advance(INTERPAN_WINDOW_SECONDS)
    with pytest.raises(RadioError) as err:
        run(connect(han, site.hub_id))
    assert err.value.code is ErrorCode.WINDOW_CLOSED
    beacon = run(han.driver().active_scan())[0]
    assert beacon.extended_pan_id == site.hub_id and not beacon.interpan_open
    assert not han.hub_status(site.hub_id)["interpan_open"]
    han.power_cycle(site.hub_id)
    assert run(connect(han, site.hub_id)).is_open


def test_power_cycle_drops_open_links(han, site, command) -> None:
    async def scenario() -> None:
        link = await connect(han, site.hub_id)
        han.power_cycle(site.hub_id)
        # the radio learns of the restart from the hub: it no longer knows the tunnel
        with pytest.raises(RadioError) as err:
            await link.put(command(site.esme_id, 1))
            await link.receive(0.1)
        assert err.value.code is ErrorCode.LINK_LOST
        assert not link.is_open

    run(scenario())
    assert han.device_log() == []


def test_unknown_hub(han, site) -> None:
    for hub_id in ("00DB000000000000", "not a hub"):
        with pytest.raises(RadioError) as err:
            run(connect(han, hub_id))
        assert err.value.code is ErrorCode.NOT_FOUND


def test_band_unsupported(han) -> None:
    site = han.add_site(name="Dual band flat", band=BAND_868_MHZ, unknown_networks=0)
    heard = run(han.driver(position=site.name).active_scan())
    assert heard == []
    with pytest.raises(RadioError) as err:
        run(connect(han, site.hub_id, position=site.name))
    assert err.value.code is ErrorCode.BAND_UNSUPPORTED
    dual = frozenset({BAND_2_4_GHZ, BAND_868_MHZ})
    heard = run(han.driver(position=site.name, bands=dual).active_scan())
    assert heard[0].extended_pan_id == site.hub_id and heard[0].band == BAND_868_MHZ
    link = run(connect(han, site.hub_id, position=site.name, bands=dual))
    assert link.band == BAND_868_MHZ


def test_closed_driver_refuses(han, site) -> None:
    driver = han.driver()
    run(driver.close())
    with pytest.raises(RadioError) as err:
        run(driver.active_scan())
    assert err.value.code is ErrorCode.RADIO_FAULT
