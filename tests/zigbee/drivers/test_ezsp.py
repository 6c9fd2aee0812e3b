"""The ``ezsp`` radio through the real bellows code, against the EZSP/ASH emulator on a pty
bridged to the simulated hubs: scan, connect, commands, a demo job, a pulled stick, line
noise, firmware without Inter-PAN or without CBKE, and CBKE run by the stick."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from bellows import ash as bellows_ash

from tests.jobs.conftest import Rig, any_answered, assert_exactly_once, connect, until
from tests.sim.conftest import big_response, hold_for_hht, send_and_receive
from webapp import config
from webapp.gbcs.message import parse_message
from webapp.sim.dcc import DemoSupplier, build_command
from webapp.sim.emulators import ezsp as emu
from webapp.sim.emulators.ezsp import EzspEmulator
from webapp.sim.han.clock import SimClock
from webapp.sim.han.han import SimHan
from webapp.sim.han.scenario import SiteInfo
from webapp.sim.radio import SIM_HHT_EUI, SimFrameRadio
from webapp.sim.zigbee_ca import TestCa
from webapp.station import Station, radio_came_back
from webapp.zigbee.drivers.base import INSTRUCTIONS, ConnectStage, ErrorCode, RadioError
from webapp.zigbee.drivers.ezsp import EzspRadio
from webapp.zigbee.drivers.ezsp.key_establishment import NcpCbkeParty
from webapp.zigbee.stack import StackTimeouts, ZigbeeStack
from webapp.zigbee.types import EUI64

FAST = 1000.0
START = 1_780_000_000.0
SEED = 7
#: Real seconds added to the stack's sim-scaled waits: every frame now crosses bellows, a
#: pty and the emulator, and bellows hands a long message over only once it is whole.
SERIAL_MARGIN_S = 2.0


def command(han: SimHan, supplier: DemoSupplier, device: str, counter: int, size: int = 2) -> bytes:
    return build_command(
        han,
        supplier_identity=supplier,
        device_eui=device,
        counter=counter,
        message_code=0x0027,
        payload=bytes(range(size)) if size < 256 else bytes(size),
        sign=True,
    )


def stack_over_ezsp(han: SimHan, radio: EzspRadio) -> ZigbeeStack:
    stack = han.stack_over(radio)
    waits = stack.timeouts
    stack.timeouts = StackTimeouts(
        reply=waits.reply + SERIAL_MARGIN_S,
        key_establishment=waits.key_establishment + SERIAL_MARGIN_S,
        aps_ack=waits.aps_ack + SERIAL_MARGIN_S,
    )
    return stack


@contextlib.asynccontextmanager
async def ezsp_stack(
    han: SimHan, directory: Path, **options: object
) -> AsyncIterator[tuple[EzspEmulator, EzspRadio, ZigbeeStack]]:
    """An emulated stick on a pty, bellows on the other end, the HHT's stack over it."""
    emulator = await EzspEmulator(SimFrameRadio(han), directory=directory, **options).start()
    radio = EzspRadio(str(emulator.path))
    try:
        await radio.reopen()
        yield emulator, radio, stack_over_ezsp(han, radio)
    finally:
        await radio.close()
        await emulator.close()


def test_ash_framing_agrees_with_bellows() -> None:
    """The emulator's ASH is its own code: bellows must read its frames as sent."""
    payload = bytes([0x05, 0x90, 0x01, 0x45, 0x00]) + bytes(range(0x0F, 0x1F)) + b"\x7e\x7d"
    wire = emu.stuff(emu.data_frame(3, 5, payload, retransmit=True))
    assert not set(wire) & {emu.FLAG, emu.XON, emu.XOFF, emu.SUBSTITUTE, emu.CANCEL}
    frame = bellows_ash.parse_frame(emu.unstuff(wire))
    assert isinstance(frame, bellows_ash.DataFrame)
    assert (frame.frm_num, frame.ack_num, frame.re_tx, frame.ezsp_frame) == (3, 5, 1, payload)
    assert emu.PSEUDO_RANDOM[:8] == bellows_ash.PSEUDO_RANDOM_DATA_SEQUENCE[:8]
    assert emu.unstuff(b"\x7d") is None  # a dangling escape is damage, not data


def test_scan_connect_and_exchange_through_bellows(
    han: SimHan, site: SiteInfo, supplier: DemoSupplier, tmp_path: Path
) -> None:
    seen: list[ConnectStage] = []

    async def scenario() -> tuple[list, bytes, list[bytes], EzspEmulator, EzspRadio]:
        async with ezsp_stack(han, tmp_path / "dev") as (emulator, radio, stack):
            beacons = await stack.active_scan()
            link = await stack.connect(site.hub_id, seen.append)
            small = await send_and_receive(link, command(han, supplier, site.esme_id, 1))
            big = await send_and_receive(link, command(han, supplier, site.esme_id, 2, 600))
            hold_for_hht(han, site.hub_id, site.esme_id, big_response(site.esme_id, 3000))
            held = await link.get()
            assert parse_message(small).header.counter == 1
            assert parse_message(big).header.counter == 2
            return beacons, small, held, emulator, radio

    beacons, small, held, emulator, radio = asyncio.run(scenario())
    hub = han.hubs.hub(site.hub_id)
    ours = [b for b in beacons if b.extended_pan_id == site.hub_id]
    assert len(ours) == 1 and ours[0].channel == hub["channel"] and ours[0].band == "2.4GHz"
    assert len({b.extended_pan_id for b in beacons}) == len(beacons) > 1  # neighbours, foreign
    assert seen == list(ConnectStage)
    assert {(r["counter"], r["executions"]) for r in han.device_log()} == {(1, 1), (2, 1)}
    assert len(held) == 1 and len(held[0]) > 3000  # GBT blocks, APS fragments, reassembled
    # it was bellows that spoke: the legacy version command, then the extended format
    assert emulator.commands_seen[:2] == [emu.VERSION, emu.VERSION]
    for frame_id in (emu.START_SCAN, emu.SEND_RAW_MESSAGE_EXTENDED, emu.JOIN_NETWORK):
        assert frame_id in emulator.commands_seen
    assert emulator.commands_seen.count(emu.SEND_UNICAST) > 10
    assert emulator.commands_seen.count(emu.SEND_REPLY) > 10  # bellows acks each block in
    assert emulator.ash.stats.resets == 1 and emulator.ash.stats.naks_received == 0
    assert radio.info.kind == "ezsp" and radio.info.bands == frozenset({"2.4GHz"})
    assert radio.info.firmware == "EmberZNet 7.4.4.0 build 0, EZSP protocol v13"
    assert radio.ncp_cbke and radio.cbke_label == "NCP CBKE: yes (no certificate installed)"
    assert "NCP CBKE: yes" in radio.info.description


def test_firmware_without_cbke_still_connects_with_host_cbke(
    han: SimHan, site: SiteInfo, supplier: DemoSupplier, tmp_path: Path
) -> None:
    async def scenario() -> tuple[bytes, EzspRadio, EzspEmulator]:
        async with ezsp_stack(han, tmp_path / "dev", cbke=False) as (emulator, radio, stack):
            link = await stack.connect(site.hub_id)
            return (
                await send_and_receive(link, command(han, supplier, site.esme_id, 1)),
                radio,
                emulator,
            )

    response, radio, emulator = asyncio.run(scenario())
    assert response and radio.ncp_cbke is False
    assert radio.cbke_label == "NCP CBKE: no" and "NCP CBKE: no" in radio.info.description
    assert emu.GET_CERTIFICATE_283K1 in emulator.commands_seen  # asked, refused, carried on
    assert radio.key_establishment_party(SIM_HHT_EUI) is None  # the host's CBKE ran


def test_ncp_with_cbke_and_a_certificate_runs_the_han_key_establishment(
    han: SimHan, site: SiteInfo, supplier: DemoSupplier, tmp_path: Path
) -> None:
    """Joined, the key establishment with the hub runs in the stick; Inter-PAN's (whose key
    seals the install-code registration) still runs on the host."""
    installed = han.frames.ca.issue(SIM_HHT_EUI)

    async def scenario() -> tuple[bytes, EzspRadio, EzspEmulator]:
        async with ezsp_stack(han, tmp_path / "dev", ncp_credentials=installed) as (
            emulator,
            radio,
            stack,
        ):
            assert isinstance(radio.key_establishment_party(SIM_HHT_EUI), NcpCbkeParty)
            link = await stack.connect(site.hub_id)
            return (
                await send_and_receive(link, command(han, supplier, site.esme_id, 1)),
                radio,
                emulator,
            )

    response, radio, emulator = asyncio.run(scenario())
    assert response and radio.cbke_label == "NCP CBKE: yes"
    assert "runs on the stick" in radio.info.description
    seen = emulator.commands_seen
    for frame_id in (emu.GENERATE_CBKE_KEYS_283K1, emu.CALCULATE_SMACS_283K1):
        assert seen.count(frame_id) == 1
        # after the Inter-PAN exchange (raw frames) and the join: only the HAN CBKE ran here
        assert seen.index(frame_id) > seen.index(emu.JOIN_NETWORK)
        assert seen.index(frame_id) > seen.index(emu.SEND_RAW_MESSAGE_EXTENDED)
    assert emu.CLEAR_TEMPORARY_DATA_283K1 in seen
    hub = EUI64.from_hex(site.hub_id)
    endpoint = han.frames.endpoint(site.hub_id)
    assert endpoint is not None
    hub_key = endpoint._session(SIM_HHT_EUI).han_key
    assert hub_key is not None and emulator.cbke_link_keys == {hub: hub_key}


def test_ncp_certificate_from_another_issuer_is_refused_by_the_hub(
    han: SimHan, site: SiteInfo, tmp_path: Path
) -> None:
    rogue = TestCa.create(seed="rogue-ncp", issuer=bytes.fromhex("0102030405060708"))

    async def scenario() -> tuple[RadioError, EzspEmulator]:
        installed = rogue.issue(SIM_HHT_EUI)
        async with ezsp_stack(han, tmp_path / "dev", ncp_credentials=installed) as (
            emulator,
            _radio,
            stack,
        ):
            with pytest.raises(RadioError) as err:
                await stack.connect(site.hub_id)
            return err.value, emulator

    error, emulator = asyncio.run(scenario())
    assert error.code is ErrorCode.KEY_ESTABLISHMENT_REFUSED and "UNKNOWN_ISSUER" in error.detail
    assert emu.GENERATE_CBKE_KEYS_283K1 not in emulator.commands_seen
    assert emulator.cbke_link_keys == {}


def test_ncp_cbke_without_a_certificate_leaves_key_establishment_to_the_host(
    han: SimHan, site: SiteInfo, tmp_path: Path
) -> None:
    async def scenario() -> tuple[EzspRadio, EzspEmulator]:
        async with ezsp_stack(han, tmp_path / "dev") as (emulator, radio, stack):
            assert radio.key_establishment_party(SIM_HHT_EUI) is None
            link = await stack.connect(site.hub_id)
            assert link.is_open
            return radio, emulator

    radio, emulator = asyncio.run(scenario())
    assert radio.cbke_label == "NCP CBKE: yes (no certificate installed)"
    assert "runs on the HHT" in radio.info.description
    assert emu.GENERATE_CBKE_KEYS_283K1 not in emulator.commands_seen
    assert emu.CALCULATE_SMACS_283K1 not in emulator.commands_seen
    assert emulator.cbke_link_keys == {}


def test_firmware_without_interpan_says_so_plainly(
    han: SimHan, site: SiteInfo, tmp_path: Path
) -> None:
    async def scenario() -> tuple[list, RadioError, bool]:
        async with ezsp_stack(han, tmp_path / "dev", interpan=False) as (_emulator, radio, stack):
            beacons = await stack.active_scan()
            with pytest.raises(RadioError) as err:
                await stack.connect(site.hub_id)
            return beacons, err.value, radio.available

    beacons, error, still_usable = asyncio.run(scenario())
    assert any(b.extended_pan_id == site.hub_id for b in beacons)  # scanning still works
    assert error.code is ErrorCode.RADIO_FAULT
    assert "cannot send or receive Inter-PAN" in error.detail and still_usable
    assert han.device_log() == [] and han.frames.endpoint(site.hub_id) is not None


def test_line_noise_truncated_frames_and_bad_crcs_are_survived(
    han: SimHan, site: SiteInfo, supplier: DemoSupplier, tmp_path: Path
) -> None:
    async def scenario() -> tuple[list[bytes], EzspEmulator, EzspRadio]:
        async with ezsp_stack(han, tmp_path / "dev") as (emulator, radio, stack):
            link = await stack.connect(site.hub_id)
            answers = []
            for counter, damage in enumerate(DAMAGE, start=1):
                damage(emulator)
                answers.append(
                    await send_and_receive(link, command(han, supplier, site.esme_id, counter))
                )
            assert radio.available and link.is_open
            return answers, emulator, radio

    answers, emulator, radio = asyncio.run(scenario())
    assert [parse_message(a).header.counter for a in answers] == list(range(1, len(DAMAGE) + 1))
    stats = emulator.ash.stats
    assert stats.naks_received >= 2  # bellows NAKed damaged frames from the stick
    assert stats.retransmissions >= 2  # after a NAK, and after a frame the host ignored
    assert stats.ack_timeouts >= 1  # ... found by the stick's acknowledgement timer
    assert stats.naks_sent >= 1  # the stick NAKed a host frame; bellows sent it again
    assert stats.resets == 1  # nothing needed a reset
    assert radio.dropped_frames >= 2  # the undecodable callbacks, counted and dropped
    assert {(r["counter"], r["executions"]) for r in han.device_log()} == {
        (n, 1) for n in range(1, len(DAMAGE) + 1)
    }


def _noise(emulator: EzspEmulator) -> None:
    for _ in range(3):
        emulator.inject_noise()


def _truncated(emulator: EzspEmulator) -> None:
    for end in (emu.FLAG, emu.CANCEL, emu.SUBSTITUTE):
        emulator.inject_truncated(end)
    emulator.inject_noise(b"\x7d")  # an escape right before the flag


def _bad_crc(emulator: EzspEmulator) -> None:
    emulator.corrupt_next = 2  # the 2nd goes unNAKed (host in reject state): a timeout


def _host_frame_damaged(emulator: EzspEmulator) -> None:
    emulator.reject_next = 1


def _junk_ezsp(emulator: EzspEmulator) -> None:
    emulator.inject_ezsp(0x0ABC, b"\x01\x02")  # a frame id bellows does not know
    emulator.inject_ezsp(emu.INCOMING_MESSAGE_HANDLER, b"\x00\x09\x01")  # truncated
    passthrough = bytes([emu.MAC_PASSTHROUGH_SE_INTERPAN, 0xC8, 0xD0, 5]) + b"\x01\x88\x00\xff\x02"
    emulator.inject_ezsp(emu.MAC_PASSTHROUGH_MESSAGE_HANDLER, passthrough)  # not a MAC frame
    stranger = (
        bytes([emu.INCOMING_UNICAST])
        + bytes.fromhex("0901 0407 01 01 0000 0000 07")
        + bytes([0xFF, 0xD8, 0x34, 0x12, 0xFF, 0xFF, 2, 0x01, 0x02])
    )
    emulator.inject_ezsp(emu.INCOMING_MESSAGE_HANDLER, stranger)  # from node 0x1234


DAMAGE = (_noise, _truncated, _bad_crc, _host_frame_damaged, _junk_ezsp)


def test_unplugged_stick_fails_plainly_and_reopens_when_back(
    han: SimHan, site: SiteInfo, supplier: DemoSupplier, tmp_path: Path
) -> None:
    async def scenario() -> tuple[RadioError, RadioError, bytes]:
        async with ezsp_stack(han, tmp_path / "dev") as (emulator, radio, stack):
            link = await stack.connect(site.hub_id)
            emulator.unplug()
            with pytest.raises(RadioError) as during:
                await link.receive(2.0)
            assert not radio.available and not link.is_open
            with pytest.raises(RadioError) as reopening:
                await stack.reopen()
            emulator.replug()
            await stack.reopen()
            assert radio.available
            link = await stack.connect(site.hub_id)
            answer = await send_and_receive(link, command(han, supplier, site.esme_id, 1))
            return during.value, reopening.value, answer

    during, reopening, answer = asyncio.run(scenario())
    for error in (during, reopening):
        assert error.code is ErrorCode.STICK_UNPLUGGED and "unplugged" in error.detail
    assert parse_message(answer).header.counter == 1


def test_a_lost_network_is_link_lost_and_the_stick_rejoins(
    han: SimHan, site: SiteInfo, supplier: DemoSupplier, tmp_path: Path
) -> None:
    raw = command(han, supplier, site.esme_id, 1)

    async def scenario() -> tuple[RadioError, list[ConnectStage], bytes]:
        async with ezsp_stack(han, tmp_path / "dev") as (emulator, radio, stack):
            link = await stack.connect(site.hub_id)
            emulator.sim.drop_after(0)  # the hub is out of reach from now on
            with pytest.raises(RadioError) as lost:
                await link.put(raw)  # the stick takes it, then reports the network down
                await link.receive(2.0)
            assert radio.link_down and not link.is_open and radio.available
            seen: list[ConnectStage] = []
            link = await stack.connect(site.hub_id, seen.append)
            return lost.value, seen, await send_and_receive(link, raw)

    lost, seen, answer = asyncio.run(scenario())
    assert lost.code is ErrorCode.LINK_LOST
    assert seen[0] is ConnectStage.JOIN_HAN  # registered already: straight to the join
    assert parse_message(answer).header.counter == 1
    assert [(r["counter"], r["executions"]) for r in han.device_log()] == [(1, 1)]


# ---------------------------------------------------------------- jobs through the runner
@contextlib.asynccontextmanager
async def ezsp_rig(data_dir: Path) -> AsyncIterator[tuple[Rig, EzspEmulator]]:
    clock = SimClock(FAST)
    han = SimHan.open(data_dir / config.SIM_DIR, time_scale=FAST, clock=clock)
    emulator = await EzspEmulator(SimFrameRadio(han), directory=data_dir / "dev").start()
    radio = EzspRadio(str(emulator.path))
    published: list = []
    station: Station | None = None
    try:
        await radio.reopen()
        station = await Station.open(
            data_dir,
            driver=stack_over_ezsp(han, radio),
            time_scale=FAST,
            publish=lambda job_id, msg: published.append((job_id, msg)),
        )
        yield Rig(station.store, han, station.runner, clock, published, station), emulator
    finally:
        if station is not None:
            await station.close()
        await radio.close()
        await emulator.close()
        han.close()


def test_a_demo_job_runs_to_the_end_over_ezsp(demo_dir: Path, demo_jobs: list[dict]) -> None:
    job_id = demo_jobs[1]["id"]  # the electricity install: no sleeping meter

    async def scenario() -> None:
        async with ezsp_rig(demo_dir) as (rig, emulator):
            await connect(rig, job_id)
            await rig.runner.start(job_id)
            await rig.runner.wait(job_id)
            assert rig.job(job_id)["status"] == "completed"
            assert_exactly_once(rig, job_id)
            assert emulator.commands_seen.count(emu.SEND_UNICAST) >= len(rig.commands(job_id))

    asyncio.run(scenario())


def test_stick_pulled_mid_job_pauses_and_the_job_completes_when_back(
    demo_dir: Path, demo_jobs: list[dict]
) -> None:
    job_id = demo_jobs[1]["id"]

    async def scenario() -> None:
        async with ezsp_rig(demo_dir) as (rig, emulator):
            station = SimpleNamespace(driver=rig.runner.driver, runner=rig.runner)
            await connect(rig, job_id)
            await rig.runner.start(job_id)
            await until(rig.runner, any_answered(rig, job_id))
            emulator.unplug()
            await rig.runner.wait(job_id)
            job = rig.job(job_id)
            assert job["status"] == "paused"
            assert job["status_message"] == INSTRUCTIONS[ErrorCode.STICK_UNPLUGGED]
            states = [c["state"] for c in rig.commands(job_id)]
            assert "answered" in states and set(states) != {"answered"}
            assert not await radio_came_back(station)  # still out: nothing happens
            emulator.replug()
            assert await radio_came_back(station)
            await rig.runner.wait(job_id)
            assert rig.job(job_id)["status"] == "completed"
            assert_exactly_once(rig, job_id)

    asyncio.run(scenario())


def test_a_job_fails_at_the_tunnel_when_the_ncp_does_not_use_the_cbke_key(
    demo_dir: Path, demo_jobs: list[dict]
) -> None:
    """The job step ends with the instruction for a stick that is not using the agreed
    key; the same job runs to the end once the stick applies the keys it is given."""
    job_id = demo_jobs[1]["id"]

    async def scenario() -> None:
        async with ezsp_rig(demo_dir) as (rig, emulator):
            emulator.apply_link_keys = False
            with pytest.raises(RadioError) as failed:
                await connect(rig, job_id)
            assert failed.value.code is ErrorCode.LINK_KEY_REJECTED
            live = rig.runner.board.live(job_id)
            assert live.instruction == INSTRUCTIONS[ErrorCode.LINK_KEY_REJECTED]
            emulator.apply_link_keys = True
            await connect(rig, job_id)
            await rig.runner.start(job_id)
            await rig.runner.wait(job_id)
            assert rig.job(job_id)["status"] == "completed"
            assert_exactly_once(rig, job_id)

    asyncio.run(scenario())
