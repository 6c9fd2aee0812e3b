"""``make bench``: the figures DESIGN.md budgets, measured and written to JSON.

Run with ``python -m webapp.bench --out .bench/results.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from webapp.demo import DEMO_INSTALLER, create_demo

SERVER_START_TIMEOUT = 60.0
BENCH_TIME_SCALE = 200.0
HEADLESS_TIME_SCALE = 1e6  # device delays vanish: what is left is software


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _tree_rss_kib(pid: int) -> int:
    """RSS of a process and its children (gunicorn arbiter + worker)."""
    total = _rss_kib(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            total += _rss_kib(int(child))
    return total


# ------------------------------------------------------------------ runner cost
async def _software_time_per_command(data_dir: Path, job_id: str) -> dict[str, Any]:
    from webapp.han.link import modelled_airtime
    from webapp.jobs import repo
    from webapp.station import Station

    station = await Station.open(data_dir, time_scale=HEADLESS_TIME_SCALE)
    try:
        job = repo.require_job(station.store.reader(), job_id)
        station.han.power_cycle(job["expected_hub_id"])
        await station.runner.connect(job_id, job["expected_hub_id"])
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await station.runner.start(job_id)
        await station.runner.wait(job_id)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        db = station.store.reader()
        commands = repo.commands(db, job_id)
        responses = repo.responses(db, job_id)
        air = sum(modelled_airtime(len(c["raw"])) for c in commands) + sum(
            modelled_airtime(len(r["raw"])) for r in responses
        )
        n = len(commands)
        return {
            "job": job_id,
            "status": repo.require_job(db, job_id)["status"],
            "commands": n,
            "cpu_seconds_per_command": cpu / n,
            "wall_seconds_per_command": wall / n,
            "modelled_airtime_seconds_per_command": air / n,
            "software_to_airtime_ratio": cpu / air,
            "note": "CPU includes the simulated devices (signing each response); "
            "the HHT's own share is lower",
        }
    finally:
        await station.close()


# ---------------------------------------------------------------------- server
class Browser:
    """A tiny cookie-keeping HTTP client for the bench (stdlib only)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.csrf = ""

    def get(self, path: str) -> bytes:
        with self.opener.open(self.base + path, timeout=30) as response:
            body = response.read()
        match = re.search(rb'name="csrf-token" content="([^"]+)"', body)
        if match:
            self.csrf = match.group(1).decode()
        return body

    def post_form(self, path: str, fields: dict[str, str]) -> bytes:
        data = urllib.parse.urlencode({**fields, "csrf_token": self.csrf}).encode()
        with self.opener.open(self.base + path, data=data, timeout=30) as response:
            return response.read()

    def post_json(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-CSRF-Token": self.csrf},
        )
        with self.opener.open(request, timeout=120) as response:
            return json.loads(response.read())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_figures(data_dir: Path, job_id: str) -> dict[str, Any]:
    port = _free_port()
    hht = Path(sys.executable).with_name("hht")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            str(hht),
            "serve",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--time-scale",
            str(BENCH_TIME_SCALE),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            try:
                urllib.request.urlopen(base + "/login", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.05)
        startup = time.perf_counter() - started
        time.sleep(1.0)
        idle = _tree_rss_kib(proc.pid)
        b = Browser(base)
        b.get("/login?role=installer")
        b.post_form(
            "/login?role=installer",
            {"username": DEMO_INSTALLER[0], "secret": DEMO_INSTALLER[2], "role": "installer"},
        )
        page = b.get(f"/i/jobs/{job_id}/run")
        assets = re.findall(rb'(?:src|href)="(/static/[^"]+)"', page)
        weight = {"html": len(page)}
        for asset in assets:
            weight[asset.decode()] = len(b.get(asset.decode()))
        b.post_json(f"/api/jobs/{job_id}/sim/power-cycle", {})
        b.post_json(f"/api/jobs/{job_id}/scan", {})
        b.post_json(f"/api/jobs/{job_id}/connect", {"hub_id": _hub_of(data_dir, job_id)})
        b.post_json(f"/api/jobs/{job_id}/start", {})
        peak = 0
        for _ in range(600):
            peak = max(peak, _tree_rss_kib(proc.pid))
            snap = json.loads(b.get(f"/api/jobs/{job_id}"))
            if snap["job"]["status"] not in ("running", "ready"):
                break
            if snap["live"].get("action") == "wake-gsme":
                b.post_json(f"/api/jobs/{job_id}/sim/wake-gsme", {})
            time.sleep(0.1)
        return {
            "startup_seconds": startup,
            "rss_idle_mib": idle / 1024,
            "rss_during_job_mib": peak / 1024,
            "installer_run_page_bytes": sum(weight.values()),
            "installer_run_page_parts": weight,
            "job_status_at_end": snap["job"]["status"],
        }
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _hub_of(data_dir: Path, job_id: str) -> str:
    from webapp.store.db import Store

    store = Store.open(data_dir)
    try:
        return store.reader()["jobs"].get(job_id)["expected_hub_id"]
    finally:
        store.close()


def run(out: Path) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        headless_dir = Path(tmp) / "headless"
        jobs = create_demo(headless_dir)
        results["runner"] = asyncio.run(_software_time_per_command(headless_dir, jobs[0]))
        server_dir = Path(tmp) / "server"
        jobs = create_demo(server_dir)
        results["server"] = _server_figures(server_dir, jobs[0])
    try:
        from webapp.bench_parse import parse_figures
    except ImportError:
        pass
    else:
        results["parse"] = parse_figures()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return results


def _print(results: dict[str, Any]) -> None:
    r, s = results["runner"], results["server"]
    print(f"Runner: {r['commands']} commands, status {r['status']}")
    print(f"  software (CPU) per command   {r['cpu_seconds_per_command'] * 1000:8.2f} ms")
    print(
        f"  modelled airtime per command {r['modelled_airtime_seconds_per_command'] * 1000:8.2f} ms"
    )
    print(f"  ratio software/airtime       {r['software_to_airtime_ratio']:8.3f}")
    print(f"Server start-up                {s['startup_seconds']:8.2f} s")
    print(f"Server RSS idle                {s['rss_idle_mib']:8.1f} MiB")
    print(f"Server RSS during a job        {s['rss_during_job_mib']:8.1f} MiB")
    print(f"Installer run page weight      {s['installer_run_page_bytes'] / 1024:8.1f} KiB")
    for name, figures in results.get("parse", {}).items():
        print(f"Parse {name}: {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(".bench/results.json"))
    args = parser.parse_args()
    results = run(args.out)
    _print(results)
    print(f"\nWritten to {args.out}")


if __name__ == "__main__":
    main()
