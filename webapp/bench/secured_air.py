"""``make bench`` figures for the secured air: what a connection and one demo job put on the
air, phase by phase, and how much of it NWK and APS security take.

A demo station (the demo street and work pack, the simulated radio) connects to one job's
hub and runs the job, with the job's capture on as always.  The capture is then read back
frame by frame (:func:`webapp.zigbee.capture.read_capture`) and each frame put in a phase:

- ``scan``: beacon requests and the beacons heard;
- ``interpan_key_establishment``: Inter-PAN Key Establishment frames;
- ``install_code``: the sealed install code over Inter-PAN and the hub's answer;
- ``join``: association, data request, the Transport Key, the Device Announce;
- ``aps_key_establishment``: Key Establishment again, over APS (NWK-secured only);
- ``tunnel_open``: the rest of the connection (Request Tunnel, the hub's time, the GET of
  what the hub held), APS-secured under the CBKE key;
- ``job``: everything after the connection (the job's commands and responses, the close).

A MAC acknowledgement goes with the frame it acknowledges.  Secured frames are told by
parsing them (:func:`webapp.zigbee.security.nwk.read_nwk`, and
:func:`webapp.zigbee.security.aps.read_aps` inside the NWK payload, opened with the network
key the simulated stick used, as Wireshark opens a capture with its keys file); the
security overhead of a frame is its auxiliary headers and MICs.

Airtime is the medium's model (:mod:`webapp.sim.medium`): ``Medium.exchange_time`` per frame
(frame, acknowledgement, turnaround, backoff, CCA, inter-frame space) gives the channel
time; MAC acknowledgements are counted as frames and octets but add no channel time of
their own, since the exchange time of the frame they answer holds them.  ``on_air_ms`` is
the transmitters' own time instead (``Medium.frame_airtime`` of every frame, acks too).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webapp.sim.medium import SECONDS_PER_BYTE, Medium
from webapp.zigbee.capture import BAND_PAGES, CapturedFrame, read_capture
from webapp.zigbee.drivers.base import BAND_2_4_GHZ
from webapp.zigbee.frames import key_establishment, registration
from webapp.zigbee.frames.interpan import InterPanFrame, is_inter_pan
from webapp.zigbee.frames.mac import MacCommandId, MacFrame, MacFrameType
from webapp.zigbee.security.aps import read_aps
from webapp.zigbee.security.errors import SecurityError
from webapp.zigbee.security.header import SecurityHeader
from webapp.zigbee.security.nwk import open_nwk, read_nwk

SCAN = "scan"
INTERPAN_KEY_ESTABLISHMENT = "interpan_key_establishment"
INSTALL_CODE = "install_code"
JOIN = "join"
APS_KEY_ESTABLISHMENT = "aps_key_establishment"
TUNNEL_OPEN = "tunnel_open"
JOB = "job"
PHASES = (
    SCAN,
    INTERPAN_KEY_ESTABLISHMENT,
    INSTALL_CODE,
    JOIN,
    APS_KEY_ESTABLISHMENT,
    TUNNEL_OPEN,
    JOB,
)
#: The phases of the connection itself (``runner.connect``), before the job runs.
CONNECT_PHASES = PHASES[:-1]
ZDO_PROFILE = 0x0000
#: The demo job measured: an electricity install (no gas meter to wait for).
BENCH_SITE = "16 Acacia Avenue"
#: Sim seconds per real second for the demo station (device delays shrink to milliseconds).
JOB_TIME_SCALE = 1000.0
BANDS_OF_PAGE = {page: band for band, page in BAND_PAGES.items()}
MS = 1000.0
DIGITS = 4


@dataclass(frozen=True)
class FrameUse:
    """One captured frame: its phase, its length on air (PSDU: MAC header to FCS), whether
    it is a MAC acknowledgement, and the octets its security takes."""

    phase: str
    psdu_octets: int
    band: str
    ack: bool = False
    nwk_security_octets: int = 0
    aps_security_octets: int = 0
    aps_extended_nonce: bool = False


def _security_octets(aux: SecurityHeader | None) -> int:
    return 0 if aux is None else aux.length + aux.mic_length


class FrameClassifier:
    """Puts captured frames in phases; ``keys`` are the capture's keys (the network key
    among them opens the NWK payload, where the APS header is)."""

    def __init__(self, keys: Iterable[bytes]) -> None:
        self.keys = [bytes(k) for k in keys]
        self._network_key: bytes | None = None

    def _open_nwk(self, payload: bytes) -> bytes:
        candidates = [self._network_key] if self._network_key else []
        candidates += [k for k in self.keys if k != self._network_key]
        for key in candidates:
            try:
                _header, _aux, plain = open_nwk(payload, lambda _seq, k=key: k)
            except SecurityError:
                continue
            self._network_key = key
            return plain
        raise ValueError("a NWK-secured frame that none of the capture's keys opens")

    def classify(self, frame: CapturedFrame, *, after_connect: bool, previous: str) -> FrameUse:
        """The use of ``frame``; a MAC ack goes in ``previous``, the phase of the frame
        before it."""
        band = BANDS_OF_PAGE.get(frame.page or 0, BAND_2_4_GHZ)
        size = len(frame.psdu)
        mac = MacFrame.from_bytes(frame.frame)
        kind = mac.header.frame_type
        if kind == MacFrameType.ACK:
            return FrameUse(previous, size, band, ack=True)
        if kind == MacFrameType.BEACON:
            return FrameUse(SCAN, size, band)
        if kind == MacFrameType.COMMAND:
            command = mac.payload[0] if mac.payload else None
            return FrameUse(SCAN if command == MacCommandId.BEACON_REQUEST else JOIN, size, band)
        if is_inter_pan(mac.payload):
            cluster = InterPanFrame.from_bytes(frame.frame).cluster_id
            if cluster == key_establishment.CLUSTER_ID:
                return FrameUse(INTERPAN_KEY_ESTABLISHMENT, size, band)
            if cluster == registration.REGISTRATION_CLUSTER:
                return FrameUse(INSTALL_CODE, size, band)
            raise ValueError(f"an Inter-PAN frame for cluster {cluster:#06x}")
        _nwk, nwk_aux, body = read_nwk(mac.payload)
        aps_raw = body if nwk_aux is None else self._open_nwk(mac.payload)
        aps, aps_aux, _payload = read_aps(aps_raw)
        if nwk_aux is None or aps.profile_id == ZDO_PROFILE:
            phase = JOIN  # the Transport Key (before the network key) and the Device Announce
        elif aps.cluster_id == key_establishment.CLUSTER_ID:
            phase = APS_KEY_ESTABLISHMENT
        else:
            phase = JOB if after_connect else TUNNEL_OPEN
        return FrameUse(
            phase,
            size,
            band,
            nwk_security_octets=_security_octets(nwk_aux),
            aps_security_octets=_security_octets(aps_aux),
            aps_extended_nonce=aps_aux is not None and aps_aux.source is not None,
        )


def classify_capture(
    frames: Sequence[CapturedFrame], keys: Iterable[bytes], connect_frames: int
) -> list[FrameUse]:
    """Each frame's use; the first ``connect_frames`` are the connection's, the rest the
    job's.  A MAC ack takes the phase of the frame before it."""
    classifier = FrameClassifier(keys)
    uses: list[FrameUse] = []
    previous = SCAN
    for index, frame in enumerate(frames):
        use = classifier.classify(frame, after_connect=index >= connect_frames, previous=previous)
        previous = use.phase
        uses.append(use)
    return uses


def _empty() -> dict[str, float]:
    return {
        "frames": 0,
        "mac_acks": 0,
        "octets": 0,
        "airtime_s": 0.0,
        "on_air_s": 0.0,
        "nwk_secured_frames": 0,
        "aps_secured_frames": 0,
        "aps_extended_nonce_frames": 0,
        "nwk_security_octets": 0,
        "aps_security_octets": 0,
        "security_octets": 0,
        "security_s": 0.0,
    }


def _add(into: dict[str, float], use: FrameUse) -> None:
    into["frames"] += 1
    into["octets"] += use.psdu_octets
    into["on_air_s"] += Medium.frame_airtime(use.psdu_octets, use.band)
    if use.ack:
        into["mac_acks"] += 1
        return
    into["airtime_s"] += Medium.exchange_time(use.psdu_octets, use.band)
    security = use.nwk_security_octets + use.aps_security_octets
    into["nwk_secured_frames"] += use.nwk_security_octets > 0
    into["aps_secured_frames"] += use.aps_security_octets > 0
    into["aps_extended_nonce_frames"] += use.aps_extended_nonce
    into["nwk_security_octets"] += use.nwk_security_octets
    into["aps_security_octets"] += use.aps_security_octets
    into["security_octets"] += security
    into["security_s"] += security * SECONDS_PER_BYTE[use.band]


def _report(totals: dict[str, float]) -> dict[str, Any]:
    airtime = totals["airtime_s"]
    return {
        "frames": int(totals["frames"]),
        "mac_acks": int(totals["mac_acks"]),
        "octets": int(totals["octets"]),
        "airtime_ms": round(airtime * MS, DIGITS),
        "on_air_ms": round(totals["on_air_s"] * MS, DIGITS),
        "nwk_secured_frames": int(totals["nwk_secured_frames"]),
        "aps_secured_frames": int(totals["aps_secured_frames"]),
        "aps_extended_nonce_frames": int(totals["aps_extended_nonce_frames"]),
        "nwk_security_octets": int(totals["nwk_security_octets"]),
        "aps_security_octets": int(totals["aps_security_octets"]),
        "security_octets": int(totals["security_octets"]),
        "security_airtime_ms": round(totals["security_s"] * MS, DIGITS),
        "security_share_of_airtime": round(totals["security_s"] / airtime, DIGITS)
        if airtime
        else 0.0,
        "security_share_of_octets": round(totals["security_octets"] / totals["octets"], DIGITS)
        if totals["octets"]
        else 0.0,
    }


def air_by_phase(uses: Sequence[FrameUse]) -> dict[str, Any]:
    """Frames, octets, airtime and security overhead per phase, for the connection, the
    job and the whole."""
    phases = {phase: _empty() for phase in PHASES}
    connect, job, total = _empty(), _empty(), _empty()
    for use in uses:
        _add(phases[use.phase], use)
        _add(connect if use.phase in CONNECT_PHASES else job, use)
        _add(total, use)
    return {
        "phases": {phase: _report(figures) for phase, figures in phases.items()},
        "connect": _report(connect),
        "job": _report(job),
        "total": _report(total),
    }


# ----------------------------------------------------------------- the demo job
@dataclass(frozen=True)
class JobRun:
    job_id: str
    status: str
    commands: int
    frames: list[CapturedFrame]
    connect_frames: int
    keys: list[bytes]
    wall_s: float


async def run_demo_job(data_dir: Path, site: str = BENCH_SITE) -> JobRun:
    """Connect to the hub of the demo job at ``site`` and run the job; its capture."""
    from webapp.jobs import repo
    from webapp.station import Station

    station = await Station.open(data_dir, time_scale=JOB_TIME_SCALE)
    try:
        db = station.store.reader()
        job_id = next(db.query("SELECT id FROM jobs WHERE site = ? ORDER BY id", [site]))["id"]
        job = repo.require_job(db, job_id)
        assert station.han is not None
        hub = next(h for h in job["candidate_hubs"] if station.han.hubs.hub(h.upper()) is not None)
        station.han.power_cycle(hub)
        started = time.perf_counter()
        await station.runner.connect(job_id, hub)
        (part,) = station.runner.captures.parts(job_id)
        connect_frames = len(read_capture(part))
        await station.runner.start(job_id)
        await station.runner.wait(job_id)
        wall = time.perf_counter() - started
        keys = station.driver.capture_keys()
        db = station.store.reader()
        status = repo.require_job(db, job_id)["status"]
        commands = len(repo.commands(db, job_id))
    finally:
        await station.close()
    return JobRun(job_id, status, commands, read_capture(part), connect_frames, keys, wall)


def secured_air_figures(site: str = BENCH_SITE) -> dict[str, Any]:
    """The air of one demo connection and job by phase, with the security overhead."""
    from webapp.sim.demo import create_demo

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "demo"
        create_demo(data_dir)
        run = asyncio.run(run_demo_job(data_dir, site))
    uses = classify_capture(run.frames, run.keys, run.connect_frames)
    return {
        "job_id": run.job_id,
        "site": site,
        "status": run.status,
        "commands": run.commands,
        "band": uses[0].band if uses else BAND_2_4_GHZ,
        "host_wall_s": round(run.wall_s, 3),
        **air_by_phase(uses),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(secured_air_figures(), indent=2))
