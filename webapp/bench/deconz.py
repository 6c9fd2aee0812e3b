"""Software time per frame through the ConBee driver, zigpy-deconz and the deCONZ emulator.

Everything runs in one process: the driver and zigpy-deconz on one side of a pseudo-terminal,
:class:`~webapp.sim.emulators.deconz.DeconzEmulator` and the simulated HAN on the other.
A pty moves bytes without the 115200-baud wire time a real ConBee adds (about 87 us per
octet), and the simulated airtime is scaled down a thousandfold, so the figures are the
software's share of each frame on this machine, not what a real stick takes.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from webapp.sim.dcc import DemoSupplier, build_command
from webapp.sim.emulators.deconz import DeconzEmulator
from webapp.sim.han.clock import SimClock
from webapp.sim.han.han import SimHan
from webapp.sim.radio import SimFrameRadio
from webapp.zigbee.drivers.deconz import DeconzRadio, DeconzTimeouts
from webapp.zigbee.frames.aps import ApsFrame, ApsFrameType, ApsHeader
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.sizes import HHT_ENDPOINT, HUB_ENDPOINT, SMART_ENERGY_PROFILE
from webapp.zigbee.types import EUI64

TIME_SCALE = 1000.0  # the hub's Inter-PAN window (an hour) lasts 3.6 real seconds
BENCH_SEED = 11
#: An APS payload the hub ignores (Basic cluster), the size of a tunnelled GB-HRGP frame.
IGNORED_CLUSTER = 0x0000
APS_PAYLOAD_OCTETS = 60
NOBODY = EUI64.from_hex("00124B0000000001")
BENCH_TIMEOUTS = DeconzTimeouts(probe=0.2)


async def _mean_ms(call: Callable[[], Awaitable[object]], runs: int) -> float:
    await call()
    started = time.perf_counter()
    for _ in range(runs):
        await call()
    return round(1000 * (time.perf_counter() - started) / runs, 3)


async def _figures(directory: Path, runs: int, seed: int) -> dict:
    clock = SimClock(TIME_SCALE)
    han = SimHan.create(directory / "sim", seed=seed, time_scale=TIME_SCALE, clock=clock)
    try:
        site = han.add_site(name="Bench house", seed=seed, neighbours=0, unknown_networks=0)
        hub = han.hubs.hub(site.hub_id)
        assert hub is not None
        sim = SimFrameRadio(han, position=site.name, seed=seed)
        emulator = DeconzEmulator(sim, directory)
        emulator.plug()
        radio = DeconzRadio(emulator.path, timeouts=BENCH_TIMEOUTS)
        stack = han.stack_over(radio)
        try:
            started = time.perf_counter()
            await radio.reopen()
            open_ms = 1000 * (time.perf_counter() - started)
            serial_ms = await _mean_ms(radio.device_state, runs)
            stack.move_to(site.hub_id)
            started = time.perf_counter()
            await stack.active_scan([hub["channel"]])
            scan_ms = 1000 * (time.perf_counter() - started)
            started = time.perf_counter()
            link = await stack.connect(site.hub_id)
            connect_ms = 1000 * (time.perf_counter() - started)
            aps = ApsFrame(
                ApsHeader(
                    ApsFrameType.DATA,
                    1,
                    dst_endpoint=HUB_ENDPOINT,
                    cluster_id=IGNORED_CLUSTER,
                    profile_id=SMART_ENERGY_PROFILE,
                    src_endpoint=HHT_ENDPOINT,
                ),
                bytes(APS_PAYLOAD_OCTETS),
            )
            aps_ms = await _mean_ms(lambda: radio.send_aps(site.hub_id, aps), runs)
            assert radio.eui is not None
            interpan = InterPanFrame(
                1, 0x1234, NOBODY, 0xFFFF, radio.eui, IGNORED_CLUSTER, bytes(APS_PAYLOAD_OCTETS)
            )
            interpan_ms = await _mean_ms(
                lambda: radio.send_interpan(hub["channel"], interpan), runs
            )
            supplier = DemoSupplier.create()
            counters = iter(range(1, 10_000))

            async def exchange() -> None:
                raw = build_command(
                    han,
                    supplier_identity=supplier,
                    device_eui=site.esme_id,
                    counter=next(counters),
                    message_code=0x0027,
                    payload=b"\x01\x02",
                    sign=True,
                )
                await link.put(raw)
                if await link.receive(2.0) is None:
                    raise RuntimeError("the simulated meter did not answer")

            exchange_ms = await _mean_ms(exchange, max(1, runs // 20))
        finally:
            await stack.close()
            await emulator.close()
    finally:
        han.close()
    return {
        "time_scale": TIME_SCALE,
        "runs": runs,
        "open_ms": round(open_ms, 2),
        "serial_round_trip_ms": serial_ms,
        "scan_one_channel_with_probe_ms": round(scan_ms, 2),
        "connect_ms": round(connect_ms, 2),
        "aps_frame_ms": aps_ms,
        "interpan_frame_ms": interpan_ms,
        "command_exchange_ms": exchange_ms,
        "note": (
            "software time on a pty (no serial wire time), sim airtime scaled 1/1000; "
            "aps and Inter-PAN frames are timed to the stick's send confirm"
        ),
    }


def deconz_figures(runs: int = 200, seed: int = BENCH_SEED) -> dict:
    """Mean software time per frame through DeconzRadio, zigpy-deconz and the emulator."""
    with tempfile.TemporaryDirectory(prefix="hht-deconz-bench-") as directory:
        return asyncio.run(_figures(Path(directory), runs, seed))


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(deconz_figures(), indent=2))
