"""Running one job without the web server (``hht run-job``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from webapp.cli.common import keys_path
from webapp.jobs import repo
from webapp.jobs.doorstep import is_maintenance
from webapp.jobs.runner import RunnerError
from webapp.jobs.states import FINISHED_JOB_STATUSES, JobStatus
from webapp.station import Station
from webapp.zigbee.capture import write_keys_file
from webapp.zigbee.drivers.base import ErrorCode, RadioError


def job_result(station: Station, job_id: str) -> dict[str, Any]:
    db = station.store.reader()
    job = repo.require_job(db, job_id)
    srs = {sr["id"]: sr for sr in repo.service_requests(db, job_id)}
    return {
        "job_id": job_id,
        "status": job["status"],
        "message": job["status_message"],
        "commands": [
            {
                "seq": c["seq"],
                "service_request": srs[c["service_request_id"]]["service_reference_variant"],
                "duis_request_id": c["duis_request_id"],
                "use_case": c["use_case"],
                "counter": c["counter"],
                "state": c["state"],
                "attempts": c["attempts"],
                "outcome": c["outcome"],
            }
            for c in repo.commands(db, job_id)
        ],
    }


async def run_job_headless(
    data_dir: Path, job_id: str, time_scale: float, *, pcap: Path | None = None
) -> dict[str, Any]:
    """Connect to the job's hub, run (or resume) the job to its end, return the result;
    with ``pcap``, every radio frame of this run goes into that capture file too."""
    station = await Station.open(data_dir, time_scale=time_scale)
    parts_before = len(station.runner.captures.parts(job_id))
    capture: dict[str, Any] | None = None
    try:
        try:
            result = await _run(station, job_id)
        finally:
            await station.runner.connection.disconnect()  # ends the capture part
            if pcap is not None and len(station.runner.captures.parts(job_id)) > parts_before:
                capture = _write_capture(station, job_id, pcap, parts_before)
        if pcap is not None:
            result["capture"] = capture
        return result
    finally:
        await station.close()


def _write_capture(station: Station, job_id: str, pcap: Path, since: int) -> dict[str, Any]:
    """This run's part of the job's capture, as ``pcap`` (and its keys on the simulator)."""
    if pcap.exists():
        pcap.unlink()
    try:
        frames = station.runner.captures.merge(job_id, pcap, since=since)
    except LookupError:
        raise RunnerError(f"Job {job_id} made no radio traffic to capture.") from None
    keys = station.driver.capture_keys()
    keys_file = None
    if keys:
        keys_file = keys_path(pcap)
        write_keys_file(keys_file, keys)
    return {"path": str(pcap), "frames": frames, "keys": str(keys_file) if keys_file else None}


def _stopped(station: Station, job: dict[str, Any], exc: RadioError) -> dict[str, Any]:
    """The result of a job that could not start: the hub's window is closed."""
    result = job_result(station, job["id"])
    result["outcome"] = exc.code.value
    result["instruction"] = exc.instruction
    if station.han is not None:
        hub = job["expected_hub_id"]
        result["simulator"] = (
            f"hht sim meter-menu {hub} --meter esme --pin PIN"
            if is_maintenance(job)
            else f"hht sim power-cycle {hub}"
        )
    return result


async def _run(station: Station, job_id: str) -> dict[str, Any]:
    job = repo.require_job(station.store.reader(), job_id)
    if JobStatus(job["status"]) not in FINISHED_JOB_STATUSES:
        hub = job["expected_hub_id"]
        if not job["device_set_id"]:  # several candidate sets: the one whose hub is here
            heard = [b for b in await station.runner.scan(job_id) if b["expected"]]
            if not heard:
                raise RunnerError(
                    "None of the job's candidate hubs "
                    f"({', '.join(job['candidate_hubs'])}) is in range."
                )
            hub = heard[0]["extended_pan_id"]
        try:
            await station.runner.connect(job_id, hub, actor="cli")
        except RadioError as exc:
            if exc.code is not ErrorCode.WINDOW_CLOSED:
                raise
            return _stopped(station, job, exc)
        await station.runner.start(job_id, actor="cli")
        await station.runner.wait(job_id)
    return job_result(station, job_id)
