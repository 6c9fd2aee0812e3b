"""``make bench``: what a hostile upload costs everyone else (issue 15, item 2).

The issue's upload (unsigned, one 0.99 MB DUIS file named 25,000 times) held the store's
writer for 53 s: the radio loop stalled, a login and the gas-meter button waited as long.
Here the web app runs in-process on the simulated radio, a demo job runs and a heartbeat
ticks on its radio loop, and uploads go in from the installer's phone route while a
supervisor logs in and the installer presses the gas meter's button.  Figures, per
upload: how long it took to be refused (or loaded), the longest radio-loop stall, the
longest login and button press started while it was in progress, the longest hold of
the store's writer, and how the job ended.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webapp.duis import build_local_command
from webapp.jobs import repo
from webapp.sim.demo import DEMO_INSTALLER, DEMO_SUPERVISOR, DEMO_SUPPLIER_EUI, create_demo
from webapp.sim.packs import build_pack, seal
from webapp.workpack.archive import read_archive, write_archive
from webapp.workpack.manifest import FORMAT, MANIFEST_NAME, SIGNATURE_NAME
from webapp.workpack.trust import sha256_hex

HEARTBEAT_SECONDS = 0.005
HEARTBEAT_STOP_SECONDS = 5.0
JOB_TIMEOUT_SECONDS = 600.0
TIME_SCALE = 1000.0
#: The issue's pack: one DUIS file of just under the 1 MB XML limit, named 25,000 times.
HOSTILE_MENTIONS = 25_000
HOSTILE_GBCS_BYTES = 740_000  # base64 in the XML: 0.99 MB
#: A signed pack naming one file under the mention cap: parsed once, refused.
SIGNED_MENTIONS = 2_000
GOOD_JOBS = 100
GOOD_STEPS = ["CCS01_ESME", "ECS70", "CS03A1", "ECS01a", "ECS17b", "ECS52"]
REQUEST_ID = "90-B3-D5-1F-30-DE-00-01:00-DB-00-00-00-00-00-01:1"
UPLOAD_ROUTE = "/i/workpack"
GAS_SITE_PREFIX = "21"  # the demo's gas exchange


def _stored_zip(members: dict[str, bytes]) -> bytes:
    """Members stored, not deflated: no inflation ratio stops the pack before its manifest."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def hostile_unsigned() -> bytes:
    """The issue's pack: unsigned, one 0.99 MB DUIS file named HOSTILE_MENTIONS times."""
    name = "duis/a.xml"
    duis = build_local_command(
        REQUEST_ID, "8.1.1", "8.1.1", os.urandom(HOSTILE_GBCS_BYTES), "2026-01-01T00:00:00Z"
    )
    job = {
        "id": "HOSTILE1",
        "site": "s",
        "address": "a",
        "mpxn": "1",
        "appointment": "2026-01-01",
        "service_requests": [{"service_reference": "8.1.1", "use_case": "CS01"}],
        "device_sets": [
            {"devices": {"hub": "00DB000000000001"}, "commands": [[name] * HOSTILE_MENTIONS]}
        ],
    }
    manifest = {
        "format": FORMAT,
        "pack_id": "HOSTILE",
        "supplier": {"eui": DEMO_SUPPLIER_EUI, "name": "x"},
        "files": {name: sha256_hex(duis)},
        "jobs": [job],
    }
    return _stored_zip(
        {
            MANIFEST_NAME: json.dumps(manifest).encode(),
            SIGNATURE_NAME: base64.b64encode(b"not a signature") + b"\n",
            name: duis,
        }
    )


def _spec(jobs: list[dict[str, Any]], pack_id: str) -> dict[str, Any]:
    return {
        "pack_id": pack_id,
        "supplier": {"eui": DEMO_SUPPLIER_EUI, "name": "Demo Energy Supply Ltd"},
        "jobs": jobs,
    }


def _job(n: int, prefix: str, steps: list[str]) -> dict[str, Any]:
    site = f"{n} {prefix} Street"
    return {
        "id": f"{prefix[:2].upper()}{n:04d}",
        "site": site,
        "address": site,
        "mpxn": f"{n:013d}",
        "appointment": "2026-11-24",
        "assignee": DEMO_INSTALLER[0],
        "steps": steps,
        "device_sets": [{"sim_site": site}],
    }


def hostile_signed(data_dir: Path) -> bytes:
    """Signed by the trusted supplier, one DUIS file named SIGNED_MENTIONS times."""
    built = build_pack(_spec([_job(1, "Signed", ["CCS01_ESME"])], "SIGNED"), data_dir)
    members = read_archive(built.data())
    manifest = json.loads(members.pop(MANIFEST_NAME))
    members.pop(SIGNATURE_NAME)
    commands = manifest["jobs"][0]["device_sets"][0]["commands"]
    commands[0] = [commands[0][0]] * SIGNED_MENTIONS
    unsigned = {k: v for k, v in manifest.items() if k != "files"}
    return _stored_zip(seal(members, unsigned, built.supplier.private_key))


def good_pack(data_dir: Path) -> bytes:
    jobs = [_job(n, "Bench", GOOD_STEPS) for n in range(1, GOOD_JOBS + 1)]
    return write_archive(build_pack(_spec(jobs, "GOOD"), data_dir).members)


@dataclass
class WriterHolds:
    """How long each transaction held the store's writer (``store.write`` timed)."""

    seconds: list[float] = field(default_factory=list)

    def install(self, store: Any) -> None:
        real = store.write

        @contextmanager
        def timed() -> Iterator[Any]:
            with real() as db:
                taken = time.perf_counter()
                try:
                    yield db
                finally:
                    self.seconds.append(time.perf_counter() - taken)

        store.write = timed


class Heartbeat:
    """Ticks on the radio loop; the longest gap between ticks is the loop's longest stall."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.running = True

    async def run(self) -> None:
        while self.running:
            self.ticks.append(time.perf_counter())
            await asyncio.sleep(HEARTBEAT_SECONDS)

    def longest_gap(self, start: float, end: float) -> float:
        inside = [t for t in self.ticks if start <= t <= end]
        edges = [start, *inside, end]
        return max(b - a for a, b in zip(edges, edges[1:], strict=False))


def _login(client: Any, role: str, who: tuple[str, str, str]) -> None:
    client.get(f"/login?role={role}")
    with client.session_transaction() as session:
        token = session.get("csrf", "")
    response = client.post(
        f"/login?role={role}",
        data={"username": who[0], "secret": who[2], "role": role, "csrf_token": token},
    )
    if response.status_code != 302:
        raise RuntimeError(f"bench login as {who[0]} failed: {response.status_code}")


def _token(client: Any) -> str:
    with client.session_transaction() as session:
        return str(session.get("csrf", ""))


def _timed(action: Any) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


async def _start_job(station: Any, job_id: str) -> None:
    """Connect to the job's hub (just powered on) and start the job on the radio loop."""
    job = repo.require_job(station.store.reader(), job_id)
    # a job with several candidate device sets: the one whose hub is really there
    hub = next(h for h in job["candidate_hubs"] if station.han.hubs.hub(h.upper()) is not None)
    station.han.power_cycle(hub)
    await station.runner.connect(job_id, hub)
    await station.runner.start(job_id)


def _during_upload(
    app: Any, heartbeat: Heartbeat, data: bytes, gas_job: str, running_job: str
) -> dict[str, Any]:
    """Upload ``data`` from the phone route while ``running_job`` runs, a supervisor logs
    in and the installer presses the gas meter's button, again and again until the upload
    is answered."""
    hht = app.extensions["hht"]
    station = hht.station
    hht.loop.call(_start_job(station, running_job))
    holds = WriterHolds()
    holds.install(station.store)
    uploader, installer = app.test_client(), app.test_client()
    _login(uploader, "installer", DEMO_INSTALLER)
    _login(installer, "installer", DEMO_INSTALLER)
    answer: dict[str, Any] = {}

    def upload() -> None:
        started = time.perf_counter()
        response = uploader.post(
            UPLOAD_ROUTE,
            data={"csrf_token": _token(uploader), "pack": (io.BytesIO(data), "pack.zip")},
            content_type="multipart/form-data",
        )
        answer["seconds"] = time.perf_counter() - started
        answer["status"] = response.status_code

    logins: list[float] = []
    presses: list[float] = []
    started = time.perf_counter()
    worker = threading.Thread(target=upload, name="bench-upload")
    worker.start()
    while worker.is_alive() or not logins:
        logins.append(_timed(lambda: _login(app.test_client(), "supervisor", DEMO_SUPERVISOR)))
        presses.append(
            _timed(
                lambda: installer.post(
                    f"/api/jobs/{gas_job}/sim/wake-gsme",
                    headers={"X-CSRF-Token": _token(installer)},
                )
            )
        )
    worker.join()
    ended = time.perf_counter()
    hht.loop.call(station.runner.wait(running_job), timeout=JOB_TIMEOUT_SECONDS)
    del station.store.write  # the class's own method again
    return {
        "pack_bytes": len(data),
        "status": answer["status"],
        "answered_in_s": round(answer["seconds"], 3),
        "longest_loop_stall_s": round(heartbeat.longest_gap(started, ended), 3),
        "longest_login_s": round(max(logins), 3),
        "longest_gas_button_s": round(max(presses), 3),
        "logins_during_upload": len(logins),
        "longest_writer_hold_s": round(max(holds.seconds, default=0.0), 3),
        "running_job": station.store.reader()["jobs"].get(running_job)["status"],
    }


def upload_stall_figures() -> dict[str, Any]:
    from webapp.station import open_app
    from webapp.web.app import shutdown

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        create_demo(data_dir)
        packs = {
            "hostile_unsigned": hostile_unsigned(),
            "hostile_signed": hostile_signed(data_dir),
            "good_pack": good_pack(data_dir),
        }
        app = open_app(data_dir, time_scale=TIME_SCALE, test_config={"TESTING": True})
        try:
            heartbeat = Heartbeat()
            beating = asyncio.run_coroutine_threadsafe(
                heartbeat.run(), app.extensions["hht"].loop.loop
            )
            station = app.extensions["hht"].station
            jobs = list(station.store.reader().query("SELECT id, site FROM jobs ORDER BY id"))
            gas_job = next(j["id"] for j in jobs if j["site"].startswith(GAS_SITE_PREFIX))
            others = [j["id"] for j in jobs if j["id"] != gas_job]
            figures = {
                name: _during_upload(app, heartbeat, data, gas_job, running)
                for (name, data), running in zip(packs.items(), others, strict=False)
            }
            heartbeat.running = False
            beating.result(HEARTBEAT_STOP_SECONDS)
        finally:
            shutdown(app)
    figures["hostile_unsigned"]["mentions"] = HOSTILE_MENTIONS
    figures["hostile_signed"]["mentions"] = SIGNED_MENTIONS
    figures["good_pack"]["jobs"] = GOOD_JOBS
    return figures


def print_upload_stall(figures: dict[str, Any]) -> None:
    print("Uploads from the phone (radio loop, login and gas button measured meanwhile):")
    for name, f in figures.items():
        print(
            f"  {name:17} {f['pack_bytes'] / 1024:7.0f} KiB: HTTP {f['status']} in "
            f"{f['answered_in_s']:.3f} s; loop stall {f['longest_loop_stall_s']:.3f} s, "
            f"login {f['longest_login_s']:.3f} s, gas button {f['longest_gas_button_s']:.3f} s, "
            f"writer held {f['longest_writer_hold_s']:.3f} s; the running job {f['running_job']}"
        )


if __name__ == "__main__":
    result = upload_stall_figures()
    print(json.dumps(result, indent=2))
    print_upload_stall(result)
