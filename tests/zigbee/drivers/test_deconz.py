"""The ConBee driver through the real zigpy-deconz code, against the deCONZ emulator on a
pseudo-terminal bridged to the simulated hubs: scan, connect and exchange; a demo job
through the runner; the stick pulled out mid-job and put back; garbage on the serial line;
firmware without Inter-PAN."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from zigpy_deconz.api import CommandId, FirmwarePlatform

from tests.jobs.conftest import Rig, assert_exactly_once, connect
from tests.sim.conftest import big_response, hold_for_hht, send_and_receive
from tests.tshark import decode, field, needs_tshark, problems
from webapp import config
from webapp.gbcs.header import Cra
from webapp.gbcs.message import parse_message
from webapp.sim.emulators.deconz import INCLUDE_BOTH_NWK_AND_IEEE, DeconzEmulator, wire
from webapp.sim.han.clock import SimClock
from webapp.sim.han.han import SimHan
from webapp.sim.radio import SimFrameRadio
from webapp.station import Station, radio_came_back
from webapp.zigbee.capture import RECONSTRUCTED_COMMENT, read_capture
from webapp.zigbee.drivers.base import INSTRUCTIONS, ConnectStage, ErrorCode, RadioError
from webapp.zigbee.drivers.deconz import DeconzRadio, DeconzTimeouts
from webapp.zigbee.drivers.deconz.frames import ExtraCommand, InterPanIndication, RawFrame
from webapp.zigbee.frames import key_establishment
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.stack import ZigbeeStack
from webapp.zigbee.types import EUI64

FAST = 1000.0
START = 1_780_000_000.0
SEED = 7
TIMEOUTS = DeconzTimeouts(probe=0.2, confirm=2.0, join=3.0)


@dataclass
class Stick:
    emulator: DeconzEmulator
    radio: DeconzRadio
    stack: ZigbeeStack
    sim: SimFrameRadio


@contextlib.asynccontextmanager
async def conbee(
    han: SimHan, position: str | None, directory: Path, **emulator_options: Any
) -> AsyncIterator[Stick]:
    """A ConBee emulator at ``position``, the driver on its pty and the stack over it."""
    sim = SimFrameRadio(han, position=position, seed=SEED)
    emulator = DeconzEmulator(sim, directory, **emulator_options)
    emulator.plug()
    radio = DeconzRadio(emulator.path, timeouts=TIMEOUTS)
    stack = han.stack_over(radio)
    try:
        yield Stick(emulator, radio, stack, sim)
    finally:
        await stack.close()
        await emulator.close()


# ---------------------------------------------------------------- (a) scan, connect, exchange
@pytest.mark.parametrize(
    ("platform", "name"),
    [
        (FirmwarePlatform.Conbee_II, "ConBee II"),  # APS sources come as short addresses
        (FirmwarePlatform.Conbee, "ConBee"),  # zigpy-deconz asks for both: the EUI-64 is used
    ],
)
def test_scan_connect_and_exchange_over_the_pty(
    han, site, command, tmp_path, platform, name
) -> None:
    hub = han.hubs.hub(site.hub_id)
    big_command = command(site.esme_id, 2, payload=bytes(600))  # APS blocks, one request
    held = big_response(site.esme_id, 3000)  # GBT blocks from the hub, APS-fragmented
    seen: list[ConnectStage] = []

    async def scenario() -> dict[str, Any]:
        async with conbee(han, site.name, tmp_path, platform=platform) as stick:
            await stick.radio.reopen()
            blind = await stick.stack.active_scan()  # no hub id expected yet
            stick.stack.move_to(site.hub_id)  # the job's hub: scans probe for it
            beacons = await stick.stack.active_scan()
            link = await stick.stack.connect(site.hub_id, seen.append)
            small = await send_and_receive(link, command(site.esme_id, 1))
            large = await send_and_receive(link, big_command)
            hold_for_hht(han, site.hub_id, site.esme_id, held)
            collected = await link.get()
            return {
                "blind": blind,
                "beacons": beacons,
                "responses": [small, large],
                "collected": collected,
                "info": stick.radio.info,
                "port": stick.radio.port,
                "firmware": stick.emulator.firmware_version,
                "commands": stick.emulator.commands,
                "acks": stick.radio.firmware_acks,
                "flags": stick.emulator.indication_flags,
            }

    got = asyncio.run(scenario())
    assert got["blind"] and {b.extended_pan_id for b in got["blind"]} == {""}
    claims = [b for b in got["beacons"] if b.extended_pan_id == site.hub_id]
    assert len(claims) == 1
    assert (claims[0].channel, claims[0].pan_id) == (hub["channel"], hub["pan_id"])
    assert claims[0].permit_join and claims[0].interpan_open
    assert len(got["beacons"]) > 1  # the neighbour and foreign networks stay unnamed
    assert {b.extended_pan_id for b in got["beacons"]} == {site.hub_id, ""}
    assert seen == list(ConnectStage)
    for counter, raw in enumerate(got["responses"], start=1):
        response = parse_message(raw)
        assert response.cra is Cra.RESPONSE and response.header.counter == counter
    assert got["collected"] == [held]
    assert len(han.device_log()) == 2
    info = got["info"]
    assert info.kind == "deconz" and info.description == f"{name} on {got['port']}"
    assert f"{got['firmware']:#010x}" in info.firmware and info.bands == frozenset({"2.4GHz"})
    commands = got["commands"]
    for used in (
        CommandId.version,
        CommandId.read_parameter,
        CommandId.write_parameter,
        CommandId.change_network_state,
        CommandId.device_state,
        CommandId.aps_data_request,
        CommandId.aps_data_confirm,
        CommandId.aps_data_indication,
        ExtraCommand.START_INTERPAN,
        ExtraCommand.SEND_INTERPAN,
    ):
        assert commands[used] > 0, f"command {used:#04x} never went over the pty"
    assert got["acks"] == 0  # incoming transfers arrive whole: the stack acks nothing
    both = INCLUDE_BOTH_NWK_AND_IEEE if platform == FirmwarePlatform.Conbee else 0
    assert {flags & INCLUDE_BOTH_NWK_AND_IEEE for flags in got["flags"]} == {both}


# ---------------------------------------------------------------- (b), (c) through the runner
@dataclass
class JobRig(Rig):
    """The jobs tests' rig, with the ConBee (and its emulator) the runner drives."""

    stick: Stick | None = None

    async def connect(self, job_id: str) -> None:
        await connect(self, job_id)


@contextlib.asynccontextmanager
async def job_rig(data_dir: Path, job: dict[str, Any]) -> AsyncIterator[JobRig]:
    han = SimHan.open(data_dir / config.SIM_DIR, time_scale=FAST, clock=SimClock(FAST))
    site = han.air.site_of(job["expected_hub_id"])
    try:
        async with conbee(han, site, data_dir) as stick:
            published: list[tuple[str, dict[str, Any]]] = []
            station = await Station.open(
                data_dir,
                driver=stick.stack,
                time_scale=FAST,
                publish=lambda job_id, msg: published.append((job_id, msg)),
            )
            try:
                yield JobRig(
                    station.store,
                    han,
                    station.runner,
                    han.clock,
                    published,
                    station=station,
                    stick=stick,
                )
            finally:
                await station.close()
    finally:
        han.close()


def electricity_job(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """The demo job without gas-meter commands (no waiting for the gas meter to wake)."""
    return next(j for j in jobs if j["site"].startswith("16"))


def test_a_demo_job_runs_through_the_runner_over_the_conbee(demo_dir, demo_jobs) -> None:
    job = electricity_job(demo_jobs)

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with job_rig(demo_dir, job) as rig:
            await rig.connect(job["id"])
            await rig.runner.start(job["id"])
            await rig.runner.wait(job["id"])
            assert_exactly_once(rig, job["id"])
            return rig.job(job["id"]), rig.commands(job["id"])

    final, commands = asyncio.run(scenario())
    assert final["status"] == "completed"
    assert commands and {c["state"] for c in commands} == {"answered"}
    assert all(c["attempts"] == 1 for c in commands)


def test_stick_pulled_out_mid_job_pauses_and_resumes_after_replug(demo_dir, demo_jobs) -> None:
    job = electricity_job(demo_jobs)
    job_id = job["id"]

    async def scenario() -> dict[str, Any]:
        async with job_rig(demo_dir, job) as rig:
            emulator = rig.stick.emulator
            await rig.connect(job_id)
            emulator.unplug_after_requests(3)  # the third command goes out, then the plug
            await rig.runner.start(job_id)
            await rig.runner.wait(job_id)
            paused = rig.job(job_id)
            assert paused["status"] == "paused"
            assert paused["status_message"] == INSTRUCTIONS[ErrorCode.STICK_UNPLUGGED]
            assert not emulator.plugged and rig.stick.radio.link_down
            answered = [c for c in rig.commands(job_id) if c["state"] == "answered"]
            assert 0 < len(answered) < len(rig.commands(job_id))
            with pytest.raises(RadioError) as err:  # still out: said plainly
                await rig.connect(job_id)
            assert err.value.code is ErrorCode.STICK_UNPLUGGED
            assert "unplugged" in err.value.detail
            station = SimpleNamespace(driver=rig.runner.driver, runner=rig.runner)
            assert not await radio_came_back(station)  # still out: nothing to do
            emulator.replug()
            assert await radio_came_back(station)  # the station reopens it and resumes
            await rig.runner.wait(job_id)
            assert emulator.plugs == 2
            assert_exactly_once(rig, job_id, already_done_ok=True)
            return rig.job(job_id)

    assert asyncio.run(scenario())["status"] == "completed"


def test_unplugged_stick_reports_a_fault_and_reopens_when_back(han, site, tmp_path) -> None:
    async def scenario() -> None:
        async with conbee(han, site.name, tmp_path) as stick:
            radio = stick.radio
            await radio.reopen()
            stick.emulator.unplug()
            with pytest.raises(RadioError) as err:
                await radio.receive_interpan(1.0)
            assert err.value.code is ErrorCode.STICK_UNPLUGGED and "unplugged" in err.value.detail
            assert radio.link_down
            with pytest.raises(RadioError) as err:
                await radio.reopen()
            assert err.value.code is ErrorCode.STICK_UNPLUGGED and "unplugged" in err.value.detail
            stick.emulator.replug()
            await radio.reopen()
            assert radio.eui == stick.sim.eui and not radio.link_down
            assert await radio.receive_interpan(0.05) is None

    asyncio.run(scenario())


# ---------------------------------------------------------------- (d) garbage on the line
def line_noise(seed: int) -> Callable[[bytes], bytes]:
    """Before every frame to the host: junk, half frames, bad checksums, well-framed frames
    with broken or foreign content."""
    rng = random.Random(seed)
    stranger = EUI64(rng.getrandbits(64))
    hht = EUI64.from_hex("70B3D5FFFE00A001")
    payload = b"\x19\x01\x00" + bytes(20)
    frame = InterPanFrame(0, 0xFFFF, hht, 0x1234, stranger, key_establishment.CLUSTER_ID, payload)
    foreign = InterPanIndication.for_frame(15, frame, lqi=200, rssi=-40)

    def framed(command_id: int, body: bytes) -> bytes:
        return wire(RawFrame(command_id, 0, 0, body).to_bytes())

    patterns: list[Callable[[bytes], bytes]] = [
        lambda raw: rng.randbytes(rng.randrange(1, 40)).replace(b"\xc0", b""),
        lambda raw: raw[: max(2, len(raw) // 2)],  # cut short; the next END ends it
        lambda raw: raw[:-3] + bytes([raw[-3] ^ 0x5A]) + raw[-2:],  # bad checksum
        lambda raw: b"\xc0\x15\x00\xdb\xc0",  # ends inside an escape
        lambda raw: framed(0x55, b"\x01\x02"),  # a command nobody knows
        lambda raw: framed(ExtraCommand.INTERPAN_INDICATION, b"\x0b\x01"),  # truncated
        lambda raw: framed(ExtraCommand.BEACON_INDICATION, b"\x00"),  # truncated
        lambda raw: framed(ExtraCommand.INTERPAN_CONFIRM, b"\xee\x00"),  # confirms nothing
        lambda raw: framed(ExtraCommand.SEND_INTERPAN, b"\x01"),  # answers nothing
        lambda raw: wire(b"\x17\x00"),  # too short for zigpy-deconz
        lambda raw: framed(ExtraCommand.INTERPAN_INDICATION, foreign.to_bytes()),
    ]
    return lambda raw: rng.choice(patterns)(raw)


def test_garbage_and_truncated_frames_from_the_stick_are_survived(
    han, site, command, tmp_path
) -> None:
    async def scenario() -> tuple[bytes, DeconzRadio, ZigbeeStack, DeconzEmulator]:
        async with conbee(han, site.name, tmp_path) as stick:
            stick.emulator.inject(b"\x00\xff garbage before anything \xdb")
            stick.emulator.noise = line_noise(5)
            stick.stack.move_to(site.hub_id)
            link = await stick.stack.connect(site.hub_id)
            response = await send_and_receive(link, command(site.esme_id, 1))
            return response, stick.radio, stick.stack, stick.emulator

    response, radio, stack, emulator = asyncio.run(scenario())
    assert parse_message(response).header.counter == 1
    assert len(han.device_log()) == 1
    assert sum(emulator.commands.values()) > 40  # plenty of frames, each behind some noise
    assert radio.dropped_frames > 0  # bounds-checked and dropped, never raised
    assert stack.ignored_frames > 0  # the foreign Inter-PAN frames reached the stack


# ---------------------------------------------------------------- (e) no Inter-PAN
def test_firmware_without_interpan_is_told_plainly(han, site, tmp_path) -> None:
    hub = EUI64.from_hex(site.hub_id)

    async def scenario() -> list[RadioError]:
        errors = []
        async with conbee(han, site.name, tmp_path, firmware_without_interpan=True) as stick:
            stick.stack.move_to(site.hub_id)
            for attempt in (
                stick.stack.connect(site.hub_id),
                stick.radio.send_interpan(
                    11,
                    InterPanFrame(1, 0x1234, hub, 0xFFFF, stick.sim.eui, 0x0800, b"\x01\x01\x00"),
                ),
            ):
                with pytest.raises(RadioError) as err:
                    await attempt
                errors.append(err.value)
            assert stick.emulator.commands[CommandId.aps_data_request] == 0
        return errors

    for error in asyncio.run(scenario()):
        assert error.code is ErrorCode.RADIO_FAULT
        assert "no Inter-PAN" in error.detail and "EZSP" in error.detail
        assert "update the ConBee firmware" in error.detail
    assert han.device_log() == []


def test_a_dropped_network_reaches_the_stack_as_link_lost(han, site, command, tmp_path) -> None:
    async def scenario() -> RadioError:
        async with conbee(han, site.name, tmp_path) as stick:
            stick.stack.move_to(site.hub_id)
            link = await stick.stack.connect(site.hub_id)
            stick.sim.drop_after(0)  # the hub's network is gone
            with pytest.raises(RadioError) as err:
                await link.put(command(site.esme_id, 1))
                await link.receive(2.0)
            assert not link.is_open
            await stick.radio.device_state()  # the stick, asked now, says the network is gone
            assert stick.radio.link_down
            return err.value

    error = asyncio.run(scenario())
    assert error.code is ErrorCode.LINK_LOST


def test_bench_figures_come_out() -> None:
    from webapp.bench.deconz import deconz_figures

    figures = deconz_figures(runs=5)
    for name in ("serial_round_trip_ms", "aps_frame_ms", "interpan_frame_ms", "connect_ms"):
        assert figures[name] > 0, name


def test_a_job_fails_at_the_tunnel_when_the_conbee_does_not_use_the_cbke_key(
    demo_dir, demo_jobs
) -> None:
    """The job step ends with the instruction for a stick that is not using the agreed
    key; the same job runs to the end once the stick applies the keys it is given."""
    job = electricity_job(demo_jobs)

    async def scenario() -> None:
        async with job_rig(demo_dir, job) as rig:
            rig.stick.emulator.apply_link_keys = False
            with pytest.raises(RadioError) as failed:
                await rig.connect(job["id"])
            assert failed.value.code is ErrorCode.LINK_KEY_REJECTED
            live = rig.runner.board.live(job["id"])
            assert live.instruction == INSTRUCTIONS[ErrorCode.LINK_KEY_REJECTED]
            rig.stick.emulator.apply_link_keys = True
            await rig.connect(job["id"])
            await rig.runner.start(job["id"])
            await rig.runner.wait(job["id"])
            assert rig.job(job["id"])["status"] == "completed"
            assert_exactly_once(rig, job["id"])

    asyncio.run(scenario())


@needs_tshark
def test_a_job_over_the_conbee_is_captured_rebuilt_and_marked_so(demo_dir, demo_jobs) -> None:
    """A real stick hands over frames already decrypted: the job's capture holds them
    rebuilt (no keys anywhere), each marked so, and Wireshark reads them all."""
    job = electricity_job(demo_jobs)

    async def scenario() -> list[Path]:
        async with job_rig(demo_dir, job) as rig:
            await rig.connect(job["id"])
            await rig.runner.start(job["id"])
            await rig.runner.wait(job["id"])
            await rig.runner.connection.disconnect()
            assert rig.runner.driver.capture_keys() == []
            return rig.runner.captures.parts(job["id"])

    parts = asyncio.run(scenario())
    frames = read_capture(parts[-1])
    rebuilt = [f for f in frames if f.comment and f.comment.startswith(RECONSTRUCTED_COMMENT)]
    as_sent = [f for f in frames if not f.comment]
    assert rebuilt and all(f.direction == "out" for f in as_sent)  # Inter-PAN, as handed over
    assert len(rebuilt) + len(as_sent) == len(frames)
    assert any("APS-secured" in (f.comment or "") for f in rebuilt)
    packets = decode(parts[-1])
    assert problems(packets) == []
    codes = {
        int(c, 0) for p in packets for c in field(p, "gbcs_message.grouping_header.message_code")
    }
    assert {c["message_code"] for c in read_commands(demo_dir, job["id"])} <= codes


def read_commands(data_dir: Path, job_id: str) -> list[dict[str, Any]]:
    from webapp.store.db import Store

    store = Store.open(data_dir)
    try:
        return list(store.reader()["commands"].rows_where("job_id = ?", [job_id]))
    finally:
        store.close()
