"""``make bench`` figures for the secured tunnel: goodput of a big message and the HHT's
software time per frame, AES-CCM* included.

**Goodput.**  A simulated hub on a virtual clock (sim time moves only by what is waited
for, so the figures are the medium model's alone), the HHT connected to it over the
frame-level stack, then GBCS commands of about 3 KB put through the GB-HRGP tunnel: GBCS
block transfer, APS fragmentation in blocks of ``MAX_APS_BLOCK`` octets, ``APS_WINDOW``
blocks per APS acknowledgement, every frame under NWK security and APS security with the
CBKE key.  Goodput is the message's octets per sim second of the put; the frames of each
message come from a capture of it.  Between messages the clock moves on and the meter's
response is collected, so each message has the air to itself.

The one-hop ceiling is the most a single hop could carry: ``MAX_APS_BLOCK`` octets per full
frame exchange (``Medium.exchange_time`` of a 127-octet frame), and the same with an APS
acknowledgement exchange per window of ``APS_WINDOW`` blocks.

**Software time.**  Wall-clock microseconds to build a secured data frame (the simulated
stick's ``NodeLayers.aps_bytes`` then ``data_frame``: APS and NWK AES-CCM*) and to open one
(``NodeLayers.open``), median of several runs; and the process CPU time of each big put
divided by the frames the HHT sent, with the simulation's own CPU taken out (the hub, the
meters and the medium model), so the stack, the simulated stick with its AES-CCM* and the
capture remain, median over the messages.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webapp.bench.cpu import CpuMeter
from webapp.bench.stack import VirtualClock
from webapp.sim.dcc import DemoSupplier, build_command
from webapp.sim.han.han import SimHan
from webapp.sim.han.hub import HubController
from webapp.sim.han.hub_radio import HubEndpoint
from webapp.sim.medium import Medium
from webapp.sim.node import NodeLayers
from webapp.zigbee.capture import Capture, CapturedFrame, read_capture
from webapp.zigbee.drivers.base import BAND_2_4_GHZ, BAND_868_MHZ
from webapp.zigbee.frames import tunneling
from webapp.zigbee.frames.aps import ApsFrame, ApsFrameType, ApsHeader
from webapp.zigbee.frames.fragmentation import OutgoingTransfer, ack_header
from webapp.zigbee.frames.mac import MacFrameType
from webapp.zigbee.sizes import (
    APS_WINDOW,
    COORDINATOR_SHORT,
    FCS_LENGTH,
    HHT_ENDPOINT,
    HUB_ENDPOINT,
    MAX_APS_BLOCK,
    MAX_PSDU,
    SMART_ENERGY_PROFILE,
    aps_psdu_length,
)
from webapp.zigbee.stack import StackHubLink
from webapp.zigbee.types import EUI64

BANDS = (BAND_2_4_GHZ, BAND_868_MHZ)
#: Octets of GBZ payload that make each command about 3 KB (two GBT blocks in the tunnel).
BIG_PAYLOAD_OCTETS = 2850
ECS01A_SET_TARIFF = 0x0019
GOODPUT_MESSAGES = 8
#: Sim seconds between messages: the meter answers within 2 s (its processing delay).
SETTLE_SIM_SECONDS = 5.0
#: Real seconds to wait for each frame of the meter's answer between messages.
DRAIN_REAL_SECONDS = 0.05
LAYER_RUNS = 7
LAYER_FRAMES_PER_RUN = 200
BENCH_SEED = 11
BENCH_SITE = "Bench Street"
BITS_PER_OCTET = 8
KBIT = 1000.0
MICRO = 1e6
MS = 1000.0
DIGITS = 3
MAC_FRAME_TYPE_MASK = 0x07

# The two nodes of the layer timings (any keys and addresses do).
HHT_EUI = EUI64.from_hex("70B3D5FFFE00A001")
HUB_EUI = EUI64.from_hex("00DB1234567890AB")
HHT_SHORT = 0x1A01
BENCH_PAN = 0x1A2B
NETWORK_KEY = bytes(range(16))
LINK_KEY = bytes(range(16, 32))


# ------------------------------------------------------------------ the ceiling
def _block_header(counter: int = 1) -> ApsHeader:
    return ApsHeader(
        frame_type=ApsFrameType.DATA,
        counter=counter,
        dst_endpoint=HUB_ENDPOINT,
        cluster_id=tunneling.CLUSTER_ID,
        profile_id=SMART_ENERGY_PROFILE,
        src_endpoint=HHT_ENDPOINT,
    )


def full_block(counter: int = 1) -> ApsFrame:
    """A middle block (full, ``MAX_APS_BLOCK`` octets) of a fragmented tunnel payload."""
    payload = bytes(MAX_APS_BLOCK * APS_WINDOW)
    return OutgoingTransfer(_block_header(counter), payload, MAX_APS_BLOCK, APS_WINDOW).frames[1]


def aps_ack_psdu() -> int:
    """Octets on air of an APS-secured APS acknowledgement of a window of blocks."""
    ack = ApsFrame(ack_header(full_block().header, 0, (1 << APS_WINDOW) - 1))
    return aps_psdu_length(len(ack.to_bytes()), secured=True)


def one_hop_ceiling(band: str) -> dict[str, Any]:
    """The most one hop could carry of APS payload, in kbit/s: one full block per full
    frame exchange, and the same with an APS acknowledgement per window."""
    frame = Medium.exchange_time(MAX_PSDU, band)
    ack = Medium.exchange_time(aps_ack_psdu(), band)
    octets = MAX_APS_BLOCK * BITS_PER_OCTET
    return {
        "max_aps_block_octets": MAX_APS_BLOCK,
        "full_frame_exchange_ms": round(frame * MS, DIGITS + 1),
        "aps_ack_psdu_octets": aps_ack_psdu(),
        "aps_ack_exchange_ms": round(ack * MS, DIGITS + 1),
        "aps_window_blocks": APS_WINDOW,
        "ceiling_kbit_s": octets / frame / KBIT,
        "ceiling_with_aps_ack_kbit_s": APS_WINDOW * octets / (APS_WINDOW * frame + ack) / KBIT,
    }


# ------------------------------------------------------------------ CPU meter
#: What the simulation itself spends: the simulated hub's radio handlers (its AES-CCM*
#: included), the meters' runs and the medium model.
SIM_SIDE: tuple[tuple[type, str], ...] = (
    (Medium, "transmit"),
    (HubEndpoint, "on_frame"),
    (HubEndpoint, "on_interpan"),
    (HubEndpoint, "pushes"),
    (HubController, "pump"),
)


# ------------------------------------------------------------------ goodput
@dataclass(frozen=True)
class MessageRun:
    octets: int
    sim_seconds: float
    process_cpu_seconds: float
    sim_side_cpu_seconds: float
    first_frame: int  # capture index of its first frame
    last_frame: int  # one past its last


def _message_frames(frames: list[CapturedFrame], band: str) -> dict[str, Any]:
    """Frames, octets and modelled airtime of one message's frames from the capture."""
    out = [f for f in frames if f.direction == "out" and not _is_ack(f)]
    heard = [f for f in frames if f.direction == "in" and not _is_ack(f)]
    acks = [f for f in frames if _is_ack(f)]
    exchanges = out + heard
    return {
        "hht_data_frames": len(out),
        "hub_frames": len(heard),  # the hub's APS acknowledgements
        "mac_acks": len(acks),
        "frames_on_air": len(frames),
        "octets_on_air": sum(len(f.psdu) for f in frames),
        "largest_psdu": max((len(f.psdu) for f in out), default=0),
        "airtime_s": sum(Medium.exchange_time(len(f.psdu), band) for f in exchanges),
    }


def _is_ack(frame: CapturedFrame) -> bool:
    return frame.psdu[0] & MAC_FRAME_TYPE_MASK == MacFrameType.ACK


async def _drain(link: StackHubLink, clock: VirtualClock) -> int:
    """Let the meter answer and take its answers in, off the measurement; how many."""
    clock.advance(SETTLE_SIM_SECONDS)
    answers = 0
    while await link.receive(DRAIN_REAL_SECONDS) is not None:
        answers += 1
    return answers


@dataclass(frozen=True)
class GoodputRun:
    messages: list[MessageRun]
    frames: list[CapturedFrame]
    connect_sim_seconds: float
    answers: int  # the meter's responses that came back through the tunnel


async def _goodput_run(
    han: SimHan, clock: VirtualClock, band: str, messages: int, capture_path: Path
) -> GoodputRun:
    site = han.add_site(name=BENCH_SITE, seed=BENCH_SEED, band=band)
    supplier = DemoSupplier.create()
    driver = han.driver(position=site.name, bands=frozenset({band}))
    sim = clock.now()
    link = await driver.connect(site.hub_id)
    connect_sim = clock.now() - sim
    commands = [
        build_command(
            han,
            supplier_identity=supplier,
            device_eui=site.esme_id,
            counter=n,
            message_code=ECS01A_SET_TARIFF,
            payload=bytes(BIG_PAYLOAD_OCTETS),
            sign=True,
        )
        for n in range(1, messages + 1)
    ]
    runs: list[MessageRun] = []
    answers = 0
    capture = Capture.open(capture_path, description=f"HHT bench: tunnel goodput on {band}")
    driver.record_to(capture)
    meter = CpuMeter()
    try:
        with meter.installed(SIM_SIDE):
            for message in commands:
                answers += await _drain(link, clock)
                first, sim, meter.seconds = capture.frames, clock.now(), 0.0
                cpu = time.process_time()
                await link.put(message)
                cpu = time.process_time() - cpu
                runs.append(
                    MessageRun(
                        octets=len(message),
                        sim_seconds=clock.now() - sim,
                        process_cpu_seconds=cpu,
                        sim_side_cpu_seconds=meter.seconds,
                        first_frame=first,
                        last_frame=capture.frames,
                    )
                )
            answers += await _drain(link, clock)
    finally:
        driver.record_to(None)
        capture.close()
        await link.close()
        await driver.close()
    return GoodputRun(runs, read_capture(capture_path), connect_sim, answers)


def tunnel_figures(band: str = BAND_2_4_GHZ, messages: int = GOODPUT_MESSAGES) -> dict[str, Any]:
    """Goodput of ``messages`` big commands through the secured tunnel on ``band``, against
    the one-hop ceiling, and the HHT's CPU time per frame while sending them."""
    with tempfile.TemporaryDirectory() as tmp:
        clock = VirtualClock()
        han = SimHan.create(Path(tmp) / "sim", seed=BENCH_SEED, clock=clock)
        try:
            run = asyncio.run(
                _goodput_run(han, clock, band, messages, Path(tmp) / "goodput.pcapng")
            )
        finally:
            han.close()
    runs, frames = run.messages, run.frames
    per_message = [_message_frames(frames[r.first_frame : r.last_frame], band) for r in runs]
    octets = sum(r.octets for r in runs)
    sim_seconds = sum(r.sim_seconds for r in runs)
    airtime = sum(m["airtime_s"] for m in per_message)
    goodput = octets * BITS_PER_OCTET / sim_seconds / KBIT
    ceiling = one_hop_ceiling(band)
    hht_frames = [m["hht_data_frames"] for m in per_message]
    hht_us = [
        (r.process_cpu_seconds - r.sim_side_cpu_seconds) / n * MICRO
        for r, n in zip(runs, hht_frames, strict=True)
    ]
    process_us = [r.process_cpu_seconds / n * MICRO for r, n in zip(runs, hht_frames, strict=True)]
    return {
        "band": band,
        "connect_sim_s": round(run.connect_sim_seconds, DIGITS),
        "messages": len(runs),
        "meter_responses": run.answers,
        "message_octets": round(octets / len(runs)),
        "goodput_kbit_s": round(goodput, DIGITS),
        "goodput_by_capture_airtime_kbit_s": round(
            octets * BITS_PER_OCTET / airtime / KBIT, DIGITS
        ),
        "sim_seconds_per_message": round(sim_seconds / len(runs), DIGITS + 1),
        "airtime_seconds_per_message": round(airtime / len(runs), DIGITS + 1),
        "frames_per_message": statistics.mean(m["frames_on_air"] for m in per_message),
        "hht_data_frames_per_message": statistics.mean(hht_frames),
        "hub_aps_acks_per_message": statistics.mean(m["hub_frames"] for m in per_message),
        "mac_acks_per_message": statistics.mean(m["mac_acks"] for m in per_message),
        "octets_on_air_per_message": statistics.mean(m["octets_on_air"] for m in per_message),
        "largest_psdu_octets": max(m["largest_psdu"] for m in per_message),
        **{k: round(v, DIGITS) if isinstance(v, float) else v for k, v in ceiling.items()},
        "goodput_over_ceiling": round(goodput / ceiling["ceiling_kbit_s"], DIGITS + 1),
        "goodput_over_ceiling_with_aps_ack": round(
            goodput / ceiling["ceiling_with_aps_ack_kbit_s"], DIGITS + 1
        ),
        "hht_cpu_us_per_frame_median": round(statistics.median(hht_us), 1),
        "process_cpu_us_per_frame_median": round(statistics.median(process_us), 1),
        "sim_side_cpu_us_per_frame_median": round(
            statistics.median(p - h for p, h in zip(process_us, hht_us, strict=True)), 1
        ),
    }


# ------------------------------------------------------------------ layer timings
def _nodes() -> tuple[NodeLayers, NodeLayers]:
    hht = NodeLayers(
        HHT_EUI,
        link_key_for=lambda _peer: LINK_KEY,
        short=HHT_SHORT,
        pan_id=BENCH_PAN,
        network_key=NETWORK_KEY,
    )
    hub = NodeLayers(
        HUB_EUI,
        link_key_for=lambda peer: LINK_KEY if peer == HHT_EUI else None,
        short=COORDINATOR_SHORT,
        pan_id=BENCH_PAN,
        network_key=NETWORK_KEY,
    )
    return hht, hub


def layer_figures(runs: int = LAYER_RUNS, frames: int = LAYER_FRAMES_PER_RUN) -> dict[str, Any]:
    """Microseconds per full tunnel block to build it secured (APS then NWK AES-CCM*, MAC
    header), to open it at the other end, and to build it with no security at all; the
    median over ``runs`` runs of ``frames`` frames each."""
    hht, hub = _nodes()
    block = full_block()
    build, open_, plain = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        raws = [
            hht.data_frame(COORDINATOR_SHORT, hht.aps_bytes(block, LINK_KEY)) for _ in range(frames)
        ]
        build.append((time.perf_counter() - started) / frames)
        started = time.perf_counter()
        opened = [hub.open(raw) for raw in raws]
        open_.append((time.perf_counter() - started) / frames)
        if any(o is None or o.frame.payload != block.payload for o in opened):
            raise RuntimeError(f"a benchmark frame did not open: {dict(hub.dropped)}")
        started = time.perf_counter()
        for _ in range(frames):
            hht.plain_data_frame(COORDINATOR_SHORT, block.to_bytes())
        plain.append((time.perf_counter() - started) / frames)
    secured = statistics.median(build)
    unsecured = statistics.median(plain)
    return {
        "runs": runs,
        "frames_per_run": frames,
        "psdu_octets": len(raws[0]) + FCS_LENGTH,
        "aps_payload_octets": len(block.payload),
        "build_secured_us": round(secured * MICRO, 2),
        "open_secured_us": round(statistics.median(open_) * MICRO, 2),
        "build_unsecured_us": round(unsecured * MICRO, 2),
        "security_share_of_build": round((secured - unsecured) / secured, DIGITS),
    }


def secured_tunnel_figures(
    bands: tuple[str, ...] = BANDS,
    messages: int = GOODPUT_MESSAGES,
    layer_runs: int = LAYER_RUNS,
    layer_frames: int = LAYER_FRAMES_PER_RUN,
) -> dict[str, Any]:
    """Goodput and software time per frame on each of ``bands``, and the layer timings."""
    return {
        "goodput": {band: tunnel_figures(band, messages) for band in bands},
        "layers": layer_figures(layer_runs, layer_frames),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(secured_tunnel_figures(), indent=2))
