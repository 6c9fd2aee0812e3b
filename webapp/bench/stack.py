"""``make bench`` figures for the frame-level stack over the simulated 2.4 GHz medium.

Sim time runs on a virtual clock that moves only when something waits, so the airtime
figures are the medium model's alone; software time is measured on the host's clock, with
the simulated hub's own share taken out.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from webapp.bench.cpu import CpuMeter
from webapp.sim.dcc import DemoSupplier, build_command
from webapp.sim.han.clock import SimClock
from webapp.sim.han.han import SimHan
from webapp.sim.han.hub_radio import HubEndpoint
from webapp.sim.medium import Medium
from webapp.zigbee.drivers.base import BAND_2_4_GHZ
from webapp.zigbee.sizes import MAX_APS_BLOCK, MAX_PSDU

#: One-hop payload ceiling at 2.4 GHz: a full secured block per full-frame exchange (with
#: its ACK and spacing), no APS acknowledgements: about 85 kbit/s of APS payload.
PHYSICAL_CEILING_KBIT_S = MAX_APS_BLOCK * 8 / Medium.exchange_time(MAX_PSDU, BAND_2_4_GHZ) / 1000
GOODPUT_MESSAGE_OCTETS = 1400
GOODPUT_MESSAGES = 20
START = 1_780_000_000.0


class VirtualClock(SimClock):
    """Sim time that advances by exactly what is waited for, never by the host's clock."""

    def __init__(self) -> None:
        super().__init__(1.0, start=START, monotonic=lambda: 0.0)

    async def sleep(self, sim_seconds: float) -> None:
        self.advance(max(0.0, sim_seconds))
        await asyncio.sleep(0)


#: The simulated hub's share of the host's time (its AES-CCM* included), taken out.
HUB_METHODS = ((HubEndpoint, "on_frame"), (HubEndpoint, "on_interpan"), (HubEndpoint, "pushes"))


def stack_figures() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        clock = VirtualClock()
        han = SimHan.create(Path(tmp) / "sim", seed=11, clock=clock)
        try:
            return asyncio.run(_measure(han, clock))
        finally:
            han.close()


async def _measure(han: SimHan, clock: VirtualClock) -> dict[str, Any]:
    site = han.add_site(name="Bench Street", seed=11)
    supplier = DemoSupplier.create()
    driver = han.driver(position=site.name)

    host, sim = time.perf_counter(), clock.now()
    link = await driver.connect(site.hub_id)
    first_connect = (time.perf_counter() - host, clock.now() - sim)
    await link.close()
    host, sim = time.perf_counter(), clock.now()
    link = await driver.connect(site.hub_id)
    reconnect = (time.perf_counter() - host, clock.now() - sim)

    messages = [
        build_command(
            han,
            supplier_identity=supplier,
            device_eui=site.esme_id,
            counter=n,
            message_code=0x0027,
            payload=bytes(GOODPUT_MESSAGE_OCTETS - 150),
            sign=True,
        )
        for n in range(1, GOODPUT_MESSAGES + 1)
    ]
    sent_bytes = sum(len(m) for m in messages)
    frames_before = driver.radio.frames_sent
    with CpuMeter(time.perf_counter).installed(HUB_METHODS) as hub:
        host, sim = time.perf_counter(), clock.now()
        for message in messages:
            await link.put(message)
        host_seconds, sim_seconds = time.perf_counter() - host, clock.now() - sim
    frames = driver.radio.frames_sent - frames_before
    goodput = sent_bytes * 8 / sim_seconds / 1000
    await link.close()
    return {
        "connect_first_sim_s": round(first_connect[1], 3),
        "connect_first_host_ms": round(first_connect[0] * 1000, 1),
        "reconnect_sim_s": round(reconnect[1], 3),
        "reconnect_host_ms": round(reconnect[0] * 1000, 1),
        "tunnel_goodput_kbit_s": round(goodput, 1),
        "physical_ceiling_kbit_s": round(PHYSICAL_CEILING_KBIT_S, 1),
        "goodput_over_ceiling": round(goodput / PHYSICAL_CEILING_KBIT_S, 3),
        "goodput_frames": frames,
        "hht_software_us_per_frame": round((host_seconds - hub.seconds) / frames * 1e6, 1),
        "sim_hub_software_us_per_frame": round(hub.seconds / frames * 1e6, 1),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(stack_figures(), indent=2))
