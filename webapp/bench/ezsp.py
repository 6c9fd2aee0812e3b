"""``make bench`` figures for the ``ezsp`` radio: host software time per frame through the
driver, bellows (EZSP and ASH), a pseudo-terminal and the EZSP emulator, all in one event
loop on this machine.  A real stick replaces the emulator's share with its own time and the
serial line's, which is given separately (octets of one full frame on the wire, and their
time at 115200 baud, 8N1).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from webapp.sim.emulators.ezsp import (
    HUB_NODE_ID,
    INCOMING_MESSAGE_HANDLER,
    INCOMING_UNICAST,
    MAC_PASSTHROUGH_MESSAGE_HANDLER,
    MAC_PASSTHROUGH_SE_INTERPAN,
    NO_INDEX,
    EzspEmulator,
)
from webapp.sim.han.clock import SimClock
from webapp.sim.han.han import SimHan
from webapp.sim.han.hub_radio import QUIET_CLUSTER, quiet_aps_frame
from webapp.sim.radio import SimFrameRadio
from webapp.zigbee.drivers.ezsp import EzspRadio
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.sizes import HHT_ENDPOINT, HUB_ENDPOINT, SMART_ENERGY_PROFILE
from webapp.zigbee.types import EUI64, u8, u16

BENCH_FRAMES = 200
TIME_SCALE = 1000.0
START = 1_780_000_000.0
#: A cluster the simulated hub ignores, so sends cost no answers.
INTERPAN_ZCL_OCTETS = 95
UART_BAUD = 115200
UART_BITS_PER_OCTET = 10
RECEIVE_TIMEOUT_S = 5.0
FAR_AWAY = EUI64.from_hex("70B3D5FFFE00BE0C")


def ezsp_figures(frames: int = BENCH_FRAMES) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        han = SimHan.create(Path(tmp) / "sim", seed=11, clock=SimClock(TIME_SCALE, start=START))
        try:
            return asyncio.run(_measure(han, Path(tmp) / "dev", frames))
        finally:
            han.close()


async def _measure(han: SimHan, directory: Path, frames: int) -> dict[str, Any]:
    site = han.add_site(name="Bench Street", seed=11)
    emulator = await EzspEmulator(SimFrameRadio(han), directory=directory).start()
    radio = EzspRadio(str(emulator.path))
    try:
        started = time.perf_counter()
        await radio.reopen()
        open_ms = (time.perf_counter() - started) * 1000
        figures: dict[str, Any] = {"ezsp_open_ms": round(open_ms, 1)}
        figures |= await _interpan(radio, emulator, frames)
        stack = han.stack_over(radio)
        started = time.perf_counter()
        await stack.connect(site.hub_id)
        figures["ezsp_connect_host_ms"] = round((time.perf_counter() - started) * 1000, 1)
        figures |= await _aps(radio, emulator, site.hub_id, frames)
        figures["ezsp_frames"] = frames
        figures["ezsp_firmware"] = radio.info.firmware
        return figures
    finally:
        await radio.close()
        await emulator.close()


async def _interpan(radio: EzspRadio, emulator: EzspEmulator, frames: int) -> dict[str, Any]:
    frame = InterPanFrame(
        seq=1,
        dst_pan=0x1234,
        dst=FAR_AWAY,
        src_pan=0xFFFF,
        src=radio.eui or FAR_AWAY,
        cluster_id=QUIET_CLUSTER,
        payload=bytes(INTERPAN_ZCL_OCTETS),
    )
    started = time.perf_counter()
    for _ in range(frames):
        await radio.send_interpan(11, frame)
    sent = time.perf_counter() - started
    raw = frame.to_bytes()
    heard = bytes([MAC_PASSTHROUGH_SE_INTERPAN, 0xC8, 0xD0, len(raw)]) + raw
    started = time.perf_counter()
    for _ in range(frames):
        emulator.inject_ezsp(MAC_PASSTHROUGH_MESSAGE_HANDLER, heard)
    for _ in range(frames):
        if await radio.receive_interpan(RECEIVE_TIMEOUT_S) is None:
            raise RuntimeError("the emulator's Inter-PAN frames did not all arrive")
    received = time.perf_counter() - started
    return {
        "ezsp_interpan_send_us_per_frame": round(sent / frames * 1e6, 1),
        "ezsp_interpan_receive_us_per_frame": round(received / frames * 1e6, 1),
    }


async def _aps(radio: EzspRadio, emulator: EzspEmulator, hub: str, frames: int) -> dict[str, Any]:
    payload = quiet_aps_frame(0).payload
    started = time.perf_counter()
    for counter in range(frames):
        await radio.send_aps(hub, quiet_aps_frame(counter))
    sent = time.perf_counter() - started
    await asyncio.sleep(0.2)  # let the stick report what it sent before counting octets
    while await radio.receive_aps(0.0) is not None:
        pass
    incoming = (
        u8(INCOMING_UNICAST)
        + u16(SMART_ENERGY_PROFILE)
        + u16(QUIET_CLUSTER)
        + bytes([HUB_ENDPOINT, HHT_ENDPOINT])
        + u16(0)
        + u16(0)
        + u8(1)
        + bytes([0xFF, 0xD8])
        + u16(HUB_NODE_ID)
        + bytes([NO_INDEX, NO_INDEX, len(payload)])
        + payload
    )
    octets_before = emulator.ash.stats.octets_out
    started = time.perf_counter()
    for _ in range(frames):
        emulator.inject_ezsp(INCOMING_MESSAGE_HANDLER, incoming)
    for _ in range(frames):
        if await radio.receive_aps(RECEIVE_TIMEOUT_S) is None:
            raise RuntimeError("the emulator's APS frames did not all arrive")
    received = time.perf_counter() - started
    octets = (emulator.ash.stats.octets_out - octets_before) / frames
    return {
        "ezsp_aps_send_us_per_frame": round(sent / frames * 1e6, 1),
        "ezsp_aps_receive_us_per_frame": round(received / frames * 1e6, 1),
        "ezsp_uart_octets_per_full_frame": round(octets, 1),
        "ezsp_uart_ms_per_full_frame_115200": round(
            octets * UART_BITS_PER_OCTET / UART_BAUD * 1000, 2
        ),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(ezsp_figures(), indent=2))
