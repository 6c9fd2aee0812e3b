"""The HHT's Zigbee stack against the frame-level simulated hubs: the connection flow,
spoof storms, a closed window, drops mid-fragment, 868 MHz duty cycle, messages over 1500
octets and hostile frames."""

from __future__ import annotations

import pytest

from tests.sim.conftest import RECEIVE_TIMEOUT, big_response, hold_for_hht, run, send_and_receive
from webapp.gbcs.header import Cra
from webapp.gbcs.message import parse_message
from webapp.sim.han.hub import INTERPAN_WINDOW_SECONDS
from webapp.zigbee.drivers.base import (
    BAND_2_4_GHZ,
    BAND_868_MHZ,
    ConnectStage,
    ErrorCode,
    RadioError,
)
from webapp.zigbee.frames import key_establishment
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.frames.tunneling import GB_HRGP_MAX_TRANSFER_SIZE
from webapp.zigbee.stack import StackHubLink, ZigbeeStack
from webapp.zigbee.types import EUI64

DUAL = frozenset({BAND_2_4_GHZ, BAND_868_MHZ})


def test_connect_runs_every_stage_over_frames(han, site, command) -> None:
    driver = han.driver()
    seen: list[ConnectStage] = []

    async def scenario() -> tuple[StackHubLink, bytes]:
        link = await driver.connect(site.hub_id, seen.append)
        return link, await send_and_receive(link, command(site.esme_id, 1))

    link, response = run(scenario())
    assert isinstance(driver, ZigbeeStack)
    assert seen == list(ConnectStage)
    assert set(driver.stage_seconds) == set(ConnectStage)
    assert link.frames_sent > 20  # two key establishments, registration, join, tunnel
    assert len(han.device_log()) == 1 and response


def test_reconnect_skips_interpan_once_registered(han, site, command) -> None:
    driver = han.driver()
    run(driver.connect(site.hub_id))
    han.clock.advance(INTERPAN_WINDOW_SECONDS + 60)  # the window has closed since
    seen: list[ConnectStage] = []

    async def scenario() -> bytes:
        link = await driver.connect(site.hub_id, seen.append)
        return await send_and_receive(link, command(site.esme_id, 1))

    assert run(scenario())
    assert ConnectStage.INTERPAN_KEY_ESTABLISHMENT not in seen
    assert seen[0] is ConnectStage.JOIN_HAN
    # a terminal the hub never registered cannot join once the window is closed
    with pytest.raises(RadioError) as err:
        run(han.driver().connect(site.hub_id))
    assert err.value.code is ErrorCode.WINDOW_CLOSED
    assert "Power-cycle" in err.value.instruction


def test_spoof_storm_does_not_stop_the_right_hub(han, site, command) -> None:
    han.frames.add_spoof_storm(site.name, count=50, pests=5)
    driver = han.driver(position=site.name)
    beacons = run(driver.active_scan())
    claims = [b for b in beacons if b.extended_pan_id == site.hub_id]
    assert len(beacons) >= 50 and len(claims) == 11  # the real hub and ten spoofs
    assert any(b.rssi > site_rssi(han, site.hub_id) for b in claims)  # some spoofs are louder

    async def scenario() -> bytes:
        link = await driver.connect(site.hub_id)
        return await send_and_receive(link, command(site.esme_id, 1))

    assert run(scenario())
    assert driver.ignored_frames > 0  # the spoofs' certificates and the pests' requests
    assert len(han.device_log()) == 1


def test_only_spoofs_claim_the_hub(han, site) -> None:
    han.frames.add_spoof_storm(site.name, count=10, pests=0)
    han.clock.advance(INTERPAN_WINDOW_SECONDS + 60)  # the real hub no longer answers
    with pytest.raises(RadioError) as err:
        run(han.driver(position=site.name).connect(site.hub_id))
    assert err.value.code is ErrorCode.KEY_ESTABLISHMENT_REFUSED
    assert "unknown issuer" in err.value.detail


def test_drop_mid_fragment_then_recovery(han, site, command) -> None:
    raw = command(site.esme_id, 2, payload=bytes(600))  # eight blocks
    driver = han.driver()

    async def scenario() -> bytes:
        link = await driver.connect(site.hub_id)
        link.drop_link(after_frames=3)
        with pytest.raises(RadioError) as err:
            await link.put(raw)
        assert err.value.code is ErrorCode.LINK_LOST and not link.is_open
        han.clock.advance(5)
        assert han.device_log() == []  # half a message never reaches the meter
        again = await driver.connect(site.hub_id)
        assert await again.get() == []
        return await send_and_receive(again, raw)

    assert run(scenario())
    assert len(han.device_log()) == 1


def test_868_mhz_hub_waits_for_its_duty_cycle(han) -> None:
    flat = han.add_site(name="Dual band flat", band=BAND_868_MHZ, unknown_networks=0)
    driver = han.driver(position=flat.name, bands=DUAL)
    radio = driver.radio
    radio.medium.duty_window = 20.0  # 0.2 s of airtime per 20 s, to see it in a test
    raw = build_command_for(han, flat.esme_id, payload=bytes(1200))

    async def scenario() -> tuple[float, bytes]:
        link = await driver.connect(flat.hub_id)
        assert link.band == BAND_868_MHZ
        started = han.clock.now()
        response = await send_and_receive(link, raw)
        return han.clock.now() - started, response

    took, response = run(scenario())
    assert response
    budget = radio.medium.duty_cycle * radio.medium.duty_window
    used = radio.medium.duty_used(str(radio.eui), BAND_868_MHZ, 0, han.clock.now())
    assert used <= budget + 1e-9
    assert took > radio.medium.duty_window / 2  # it had to wait for old frames to age out


def test_message_over_1500_octets_both_ways(han, site, command) -> None:
    raw = command(site.esme_id, 3, payload=bytes(2600))
    assert len(raw) > GB_HRGP_MAX_TRANSFER_SIZE
    big = big_response(site.esme_id, 3000)

    async def scenario() -> list[bytes]:
        link = await han.driver().connect(site.hub_id)
        await send_and_receive(link, raw)  # the hub reassembles the GBT blocks
        hold_for_hht(han, site.hub_id, site.esme_id, big)
        return await link.get()

    held = run(scenario())
    assert held == [big]  # carried as GBT blocks, reassembled byte for byte
    assert len(han.device_log()) == 1


def test_hostile_interpan_frames_are_ignored(han, site, command) -> None:
    driver = han.driver()
    radio = driver.radio
    hub = EUI64.from_hex(site.hub_id)
    now = han.clock.now()
    junk = [
        InterPanFrame(1, 0xFFFF, radio.eui, 0x1234, hub, key_establishment.CLUSTER_ID, b"\x19"),
        InterPanFrame(2, 0xFFFF, radio.eui, 0x1234, hub, key_establishment.CLUSTER_ID, b""),
        InterPanFrame(3, 0xFFFF, radio.eui, 0x1234, hub, 0x0704, bytes(40)),
    ]
    for frame in junk:
        radio.inject_interpan(frame, -40, now)

    async def scenario() -> bytes:
        link = await driver.connect(site.hub_id)
        return await send_and_receive(link, command(site.esme_id, 1))

    assert run(scenario())
    assert driver.ignored_frames >= len(junk)


def test_band_lacking_stick_is_told_so(han) -> None:
    flat = han.add_site(name="Far flat", band=BAND_868_MHZ, unknown_networks=0)
    with pytest.raises(RadioError) as err:
        run(han.driver(position=flat.name).connect(flat.hub_id))
    assert err.value.code is ErrorCode.BAND_UNSUPPORTED
    assert "dual-band" in err.value.instruction


def test_hub_time_is_read_over_the_time_cluster(han, site) -> None:
    hub_clock = 1_800_000_123.75  # what the hub's clock says: whole seconds go over the air
    han.frames.endpoint(site.hub_id)._wall = lambda: hub_clock

    async def scenario() -> tuple[float, bool] | None:
        link = await han.driver().connect(site.hub_id)
        return await link.hub_time()

    assert run(scenario()) == (1_800_000_123, True)  # WAN up: synchronised
    han.set_wan(site.hub_id, False)
    assert run(scenario()) == (1_800_000_123, False)


def test_pushed_responses_arrive_without_asking(han, site, command) -> None:
    async def scenario() -> list[bytes]:
        link = await han.driver().connect(site.hub_id)
        await link.put(command(site.esme_id, 1))
        await link.put(command(site.esme_id, 2))
        got = []
        for _ in range(2):
            raw = await link.receive(RECEIVE_TIMEOUT)
            assert raw is not None
            got.append(raw)
            assert await link.ack(raw)
        assert await link.receive(0.05) is None
        return got

    assert len(set(run(scenario()))) == 2


# ---------------------------------------------------------------- helpers
def site_rssi(han, hub_id: str) -> int:
    return han.hubs.hub(hub_id)["rssi"]


def build_command_for(han, device: str, payload: bytes) -> bytes:
    from webapp.sim.dcc import DemoSupplier, build_command

    return build_command(
        han,
        supplier_identity=DemoSupplier.create(),
        device_eui=device,
        counter=1,
        message_code=0x0027,
        payload=payload,
        sign=True,
    )


def test_random_frames_from_the_hub_side_never_break_the_link(han, site, command) -> None:
    """Radio frames are untrusted: garbage APS frames from the hub's address are dropped."""
    import random

    from webapp.zigbee.drivers.frames_base import ReceivedAps
    from webapp.zigbee.frames.aps import ApsFrame, ApsFrameType, ApsHeader, Fragmentation

    rng = random.Random(5)
    driver = han.driver()

    async def scenario() -> bytes:
        link = await driver.connect(site.hub_id)
        radio = driver.radio
        now = han.clock.now()
        for n in range(300):
            fragmented = rng.random() < 0.3
            header = ApsHeader(
                frame_type=ApsFrameType.DATA,
                counter=rng.randrange(256),
                dst_endpoint=1,
                cluster_id=rng.choice([0x0704, 0x0800, 0x000A, rng.randrange(0x10000)]),
                profile_id=0x0109,
                src_endpoint=1,
                fragmentation=rng.choice(list(Fragmentation)) if fragmented else Fragmentation.NONE,
                block_number=rng.randrange(1, 20) if fragmented else 0,
            )
            frame = ApsFrame(header, rng.randbytes(rng.randrange(0, 70)))
            radio._queue(radio._aps, now + n * 1e-6, ReceivedAps(site.hub_id, frame))
        while await link.receive(0.1) is not None:  # whatever decodes is handed up as bytes
            pass
        return await send_and_receive(link, command(site.esme_id, 1))

    response = parse_message(run(scenario()))
    assert response.cra is Cra.RESPONSE and response.header.counter == 1
    assert link_is_usable(driver)


def link_is_usable(driver) -> bool:
    return bool(driver._links) and driver._links[0].is_open


def test_dual_band_hub_is_reached_on_either_band(han, site, command) -> None:
    channel = han.make_dual_band(site.hub_id)
    dual = run(han.driver(position=site.name, bands=DUAL).active_scan())
    claims = {(b.band, b.channel) for b in dual if b.extended_pan_id == site.hub_id}
    assert claims == {(BAND_2_4_GHZ, han.hubs.hub(site.hub_id)["channel"]), (BAND_868_MHZ, channel)}
    for bands, expected in ((frozenset({BAND_868_MHZ}), BAND_868_MHZ), (DUAL, BAND_2_4_GHZ)):
        driver = han.driver(position=site.name, bands=bands)

        async def scenario(driver=driver) -> StackHubLink:
            link = await driver.connect(site.hub_id)
            await send_and_receive(link, command(site.esme_id, next_counter()))
            return link

        link = run(scenario())
        assert driver.radio._band == expected  # joined on the band the stick has, 2.4 first
        assert link.is_open


_counter = iter(range(100, 200))


def next_counter() -> int:
    return next(_counter)


def test_hub_terminates_for_an_expired_terminal_certificate(han, site) -> None:
    driver = han.driver()
    expired = han.frames.ca.issue(driver.eui, valid_from=1_577_836_800, valid_to=3600)
    driver.credentials = expired
    with pytest.raises(RadioError) as err:
        run(driver.connect(site.hub_id))
    assert err.value.code is ErrorCode.KEY_ESTABLISHMENT_REFUSED
    assert "terminated" in err.value.detail and "INVALID_CERTIFICATE" in err.value.detail
    assert "back office" in err.value.instruction
    assert han.device_log() == []
