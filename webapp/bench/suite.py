"""``make bench``: the figures of README.md's "Benchmarks", measured and written to JSON.

Run with ``python -m webapp.bench.suite --out .bench/results.json``.
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

from webapp.bench.attack import attack_figures, serving_pids
from webapp.bench.attack import print_figures as print_attack
from webapp.bench.cpu import CpuMeter
from webapp.sim.demo import DEMO_INSTALLER, create_demo

SERVER_START_TIMEOUT = 60.0
BENCH_TIME_SCALE = 200.0
#: The server's idle memory budget (arbiter plus worker, RSS), from the design.
SERVER_RSS_BUDGET_MIB = 80.0
HEADLESS_TIME_SCALE = 1000.0
#: The runner's synchronous steps whose CPU time counts as the HHT's software time per
#: command (with the database writes, and the receiving side's commit through them).
RUNNER_STEPS = {
    "Delivery": (
        "_begin",
        "_may_send",
        "_commit_intent",
        "_commit_delivered",
        "_show_waiting",
        "_no_answer",
        "_settled",
        "_set_command",
        "_eta_ms",
        "_mark_running",
        "_finish",
    ),
    "Journal": ("record", "append", "set_status"),
    "Receiver": ("_commit", "_compare_device_time"),
    "LiveBoard": (
        "publish",
        "publish_live",
        "publish_event",
        "publish_command",
        "snapshot",
        "publish_snapshot",
    ),
}  # device delays shrink to milliseconds; CPU time is what counts


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _pss_kib(pid: int) -> int:
    """Proportional set size: shared pages split between the processes sharing them."""
    rollup = Path(f"/proc/{pid}/smaps_rollup")
    if rollup.exists():
        for line in rollup.read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def _tree_pids(pid: int) -> list[int]:
    """A process and its children (gunicorn arbiter + worker), without the front (nginx),
    whose memory is counted apart."""
    return serving_pids(pid)[0]


def _tree_rss_kib(pid: int) -> int:
    """RSS of a process and its children, each counted whole (gunicorn arbiter + worker)."""
    return sum(_rss_kib(each) for each in _tree_pids(pid))


# ------------------------------------------------------------------ runner cost
async def _software_time_per_command(data_dir: Path, job_ids: list[str]) -> dict[str, Any]:
    from webapp.jobs.delivery import Delivery
    from webapp.jobs.journal import Journal
    from webapp.jobs.live import LiveBoard
    from webapp.jobs.receiver import Receiver
    from webapp.station import Station
    from webapp.store.db import Store

    owners = {
        "Delivery": Delivery,
        "Journal": Journal,
        "LiveBoard": LiveBoard,
        "Receiver": Receiver,
    }
    steps = [(owners[owner], name) for owner, names in RUNNER_STEPS.items() for name in names]
    meter = CpuMeter()
    station = await Station.open(data_dir, time_scale=HEADLESS_TIME_SCALE)
    try:
        with meter.installed(steps, contexts=[(Store, "write")]):
            return await _run_jobs(station, job_ids, meter)
    finally:
        await station.close()


async def _run_jobs(station: Any, job_ids: list[str], meter: CpuMeter) -> dict[str, Any]:
    from webapp.jobs import repo
    from webapp.sim.medium import modelled_airtime

    cpu = wall = hht_cpu = air = 0.0
    commands: list[dict[str, Any]] = []
    statuses = []
    for job_id in job_ids:
        job = repo.require_job(station.store.reader(), job_id)
        # a job with several candidate device sets: the one whose hub is really there
        hub = next(h for h in job["candidate_hubs"] if station.han.hubs.hub(h.upper()) is not None)
        station.han.power_cycle(hub)
        await station.runner.connect(job_id, hub)
        meter.seconds = 0.0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await station.runner.start(job_id)
        await station.runner.wait(job_id)
        cpu += time.process_time() - cpu0
        wall += time.perf_counter() - wall0
        hht_cpu += meter.seconds
        db = station.store.reader()
        job_commands = repo.commands(db, job_id)
        commands += job_commands
        air += sum(modelled_airtime(len(c["raw"])) for c in job_commands) + sum(
            modelled_airtime(len(r["raw"])) for r in repo.responses(db, job_id)
        )
        statuses.append(repo.require_job(db, job_id)["status"])
    n = len(commands)
    return {
        "jobs": job_ids,
        "status": ",".join(sorted(set(statuses))),
        "commands": n,
        "hht_cpu_seconds_per_command": hht_cpu / n,
        "process_cpu_seconds_per_command": cpu / n,
        "wall_seconds_per_command": wall / n,
        "modelled_airtime_seconds_per_command": air / n,
        "hht_software_to_airtime_ratio": hht_cpu / air,
        "process_to_airtime_ratio": cpu / air,
        "note": "hht_cpu covers the runner's own steps (transactions with their commits, "
        "parse, match, publish); "
        "process_cpu adds the simulated devices and the simulated radio in the same process",
    }


# --------------------------------------------------------------------- history
HISTORY_JOBS = 100_000


def _history_figures(directory: Path) -> dict[str, Any]:
    """Supervisor history queries over a database of 100,000 jobs."""
    import random
    from datetime import date, timedelta

    from webapp.jobs.repo import HistoryFilter, job_history
    from webapp.store.db import Store

    store = Store.open(directory)
    rng = random.Random(5)
    statuses = ["completed", "completed", "completed", "failed", "aborted", "ready"]
    start = date(2026, 1, 1)
    with store.write() as db:
        db.execute("INSERT INTO suppliers (eui, name) VALUES ('90B3D51F30DE0001', 's')")
        db.execute(
            "INSERT INTO users (username, display_name, role, secret_hash) "
            "VALUES ('alex', 'Alex', 'installer', 'x')"
        )
        db.conn.executemany(
            "INSERT INTO jobs (id, site, address, mpxn, supplier_eui, appointment, assignee_id,"
            " status, expected_hub_id, device_set) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    f"J{n:07d}",
                    f"{n % 300 + 1} Street {n // 300}",
                    f"{n % 300 + 1} Street {n // 300}, Town",
                    f"{1012345678900 + n}",
                    "90B3D51F30DE0001",
                    (start + timedelta(days=n % 320)).isoformat(),
                    1,
                    rng.choice(statuses),
                    f"00DB{n:012X}",
                    "{}",
                )
                for n in range(HISTORY_JOBS)
            ],
        )
    db = store.reader()
    cases = {
        "first_page": HistoryFilter(),
        "page_2000": HistoryFilter(page=2000),
        "status_failed": HistoryFilter(status="failed"),
        "date_range_week": HistoryFilter(date_from="2026-03-01", date_to="2026-03-07"),
        "mpxn_search": HistoryFilter(search="1012345712345"),
        "installer": HistoryFilter(installer_id=1, page=10),
    }
    figures: dict[str, Any] = {"jobs": HISTORY_JOBS}
    for name, flt in cases.items():
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            job_history(db, flt)
            best = min(best, time.perf_counter() - started)
        figures[f"{name}_ms"] = best * 1000
    store.close()
    return figures


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
        pids = _tree_pids(proc.pid)
        idle = sum(_rss_kib(each) for each in pids)
        idle_parts = [_rss_kib(each) / 1024 for each in pids]
        idle_pss = sum(_pss_kib(each) for each in pids)
        front_pids = serving_pids(proc.pid)[1]
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
            "rss_idle_budget_mib": SERVER_RSS_BUDGET_MIB,
            "rss_idle_arbiter_and_worker_mib": idle_parts,
            "pss_idle_mib": idle_pss / 1024,
            "rss_idle_front_mib": sum(_rss_kib(each) for each in front_pids) / 1024,
            "pss_idle_front_mib": sum(_pss_kib(each) for each in front_pids) / 1024,
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
        results["runner"] = asyncio.run(_software_time_per_command(headless_dir, jobs))
        server_dir = Path(tmp) / "server"
        jobs = create_demo(server_dir)
        results["server"] = _server_figures(server_dir, jobs[0])
        results["history"] = _history_figures(Path(tmp) / "history")
    from webapp.bench.page_weight import page_weight_figures

    results["page_weight"] = page_weight_figures()
    results["attack"] = attack_figures()
    from webapp.bench import frames as zigbee_bench
    from webapp.bench.oneshot import one_file_parse_figures
    from webapp.bench.parse import parse_figures
    from webapp.bench.stack import stack_figures
    from webapp.bench.workpack import workpack_figures

    results["workpack"] = workpack_figures()
    from webapp.bench.upload_stall import upload_stall_figures

    results["upload_stall"] = upload_stall_figures()
    from webapp.bench.logins import login_timing_figures

    results["logins"] = login_timing_figures()
    results["parse"] = parse_figures()
    results["parse_one_file"] = one_file_parse_figures()
    results["zigbee"] = zigbee_bench.cbke_figures()
    results["zigbee_stack"] = stack_figures()
    from webapp.bench.deconz import deconz_figures
    from webapp.bench.ezsp import ezsp_figures

    results["radio_ezsp"] = ezsp_figures()
    results["radio_deconz"] = deconz_figures()
    from webapp.bench.secured_air import secured_air_figures
    from webapp.bench.secured_tunnel import secured_tunnel_figures

    results["secured_air"] = secured_air_figures()
    results["secured_tunnel"] = secured_tunnel_figures()
    from webapp.bench.audit import audit_figures

    results["audit"] = audit_figures()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return results


def _print(results: dict[str, Any]) -> None:
    r, s = results["runner"], results["server"]
    print(f"Runner: {r['commands']} commands, status {r['status']}")
    ms = {k: r[k] * 1000 for k in r if k.endswith("_per_command")}
    print(f"  HHT software (CPU) per command {ms['hht_cpu_seconds_per_command']:8.2f} ms")
    print(f"  whole process CPU per command  {ms['process_cpu_seconds_per_command']:8.2f} ms")
    print(f"  modelled airtime per command   {ms['modelled_airtime_seconds_per_command']:8.2f} ms")
    print(f"  ratio HHT software/airtime     {r['hht_software_to_airtime_ratio']:8.3f}")
    print(f"Server start-up                {s['startup_seconds']:8.2f} s")
    parts = " + ".join(f"{part:.1f}" for part in s["rss_idle_arbiter_and_worker_mib"])
    print(
        f"Server RSS idle                {s['rss_idle_mib']:8.1f} MiB ({parts}; budget "
        f"{s['rss_idle_budget_mib']:.0f} MiB); PSS {s['pss_idle_mib']:.1f} MiB"
    )
    print(
        f"Front (nginx) RSS idle         {s['rss_idle_front_mib']:8.1f} MiB; PSS "
        f"{s['pss_idle_front_mib']:.1f} MiB (apart from the budget)"
    )
    print(f"Server RSS during a job        {s['rss_during_job_mib']:8.1f} MiB")
    print(
        f"Installer run page, uncompressed {s['installer_run_page_bytes'] / 1024:6.1f} KiB "
        "(the app's answers, before the front)"
    )
    print(f"Server job status at the end   {s['job_status_at_end']:>8}")
    from webapp.bench.page_weight import print_page_weight

    print_page_weight(results["page_weight"])
    print_attack(results["attack"])
    h = results["history"]
    slowest = max((v, k) for k, v in h.items() if k.endswith("_ms"))
    print(f"History over {h['jobs']} jobs: slowest query {slowest[1]} {slowest[0]:.1f} ms")
    from webapp.bench.logins import print_login_timing

    print_login_timing(results["logins"])
    w = results["workpack"]
    print(
        f"Work pack of {w['jobs']} jobs / {w['commands']} commands ({w['pack_bytes'] / 1024:.0f} "
        f"KiB): build {w['build_seconds']:.2f} s, verify+load {w['verify_and_load_seconds']:.2f} s "
        f"({w['load_ms_per_command']:.2f} ms/command), unload of {w['unload_responses']} "
        f"responses {w['unload_seconds']:.2f} s"
    )
    from webapp.bench.upload_stall import print_upload_stall

    print_upload_stall(results["upload_stall"])
    z = results["zigbee"]
    print(
        f"CBKE suite 2 handshake (host)  {z['cbke_handshake_ms']:8.1f} ms "
        f"(initiator {z['cbke_initiator_ms']:.1f}, responder {z['cbke_responder_ms']:.1f})"
    )
    for name, f in z["frames"].items():
        print(f"  frame {name:20} encode {f['encode_us']:7.1f} us decode {f['decode_us']:7.1f} us")
    st = results["zigbee_stack"]
    print(
        f"Frame-level connect            {st['connect_first_sim_s']:8.2f} s on air "
        f"({st['connect_first_host_ms']:.0f} ms host); reconnect {st['reconnect_sim_s']:.2f} s"
    )
    print(
        f"Tunnel goodput (2.4 GHz sim)   {st['tunnel_goodput_kbit_s']:8.1f} kbit/s = "
        f"{st['goodput_over_ceiling']:.2f} of the {st['physical_ceiling_kbit_s']:.0f} kbit/s "
        f"ceiling; HHT software {st['hht_software_us_per_frame']:.0f} us/frame"
    )
    e, d = results["radio_ezsp"], results["radio_deconz"]
    print(
        f"EZSP stick (bellows, emulator)  APS send {e['ezsp_aps_send_us_per_frame']:.0f} us/frame, "
        f"receive {e['ezsp_aps_receive_us_per_frame']:.0f} us/frame, Inter-PAN send "
        f"{e['ezsp_interpan_send_us_per_frame']:.0f} us; serial line "
        f"{e['ezsp_uart_ms_per_full_frame_115200']:.1f} ms per full frame at 115200 baud"
    )
    print(
        f"ConBee (zigpy-deconz, emulator) APS frame {d['aps_frame_ms'] * 1000:.0f} us, Inter-PAN "
        f"{d['interpan_frame_ms'] * 1000:.0f} us, serial round trip "
        f"{d['serial_round_trip_ms'] * 1000:.0f} us; connect {d['connect_ms']:.0f} ms"
    )
    _print_secured(results)
    _print_audit(results)
    one = results.get("parse_one_file", {})
    if "skipped" in one:
        print(f"hht parse of one file          skipped ({one['skipped']})")
    elif one:
        ours, ref = one["hht"], one["reference"]
        print(
            f"hht parse of one file (whole process, median of {ours['runs']}) "
            f"{ours['median_ms']:6.1f} ms (min {ours['min_ms']:.1f})"
        )
        if "skipped" in ref:
            print(f"  reference, node, one file: skipped ({ref['skipped']})")
        else:
            print(
                f"  reference, node, one file  {ref['median_ms']:6.1f} ms (min "
                f"{ref['min_ms']:.1f}); HHT/reference {one['hht_over_reference']:.2f}"
            )
    for name, figures in results.get("parse", {}).items():
        if "skipped" in figures:
            print(f"Parse {name:9}: skipped ({figures['skipped']})")
            continue
        if "messages_per_second" in figures:
            figures = {
                "full (signatures checked)": figures,
                "full (no keys)": figures["without_keys"],
            }
        for level, f in figures.items():
            print(
                f"Parse {name:9} {level:13}: {f['messages_per_second']:9.0f} msg/s "
                f"{f['mb_per_second']:6.2f} MB/s over {f['messages']} messages"
            )


def _print_secured(results: dict[str, Any]) -> None:
    air = results["secured_air"]
    print(
        f"Secured air of demo job {air['job_id']} ({air['status']}, {air['commands']} commands, "
        f"{air['band']}): frames (MAC acks), octets, airtime, security octets and share"
    )
    rows = {**air["phases"], "connect (before the job)": air["connect"], "total": air["total"]}
    for name, f in rows.items():
        print(
            f"  {name:27} {f['frames']:4} ({f['mac_acks']:3}) {f['octets']:6} oct "
            f"{f['airtime_ms']:8.1f} ms  security {f['security_octets']:5} oct "
            f"{f['security_share_of_airtime'] * 100:5.1f} % of airtime"
        )
    tunnel = results["secured_tunnel"]
    for band, g in tunnel["goodput"].items():
        share, ceiling = g["goodput_over_ceiling_with_aps_ack"], g["ceiling_with_aps_ack_kbit_s"]
        print(
            f"Secured tunnel goodput {band:7} {g['goodput_kbit_s']:6.1f} kbit/s of "
            f"{g['message_octets']}-octet GBCS commands = {share:.2f} of the {ceiling:.1f} "
            f"kbit/s one-hop ceiling with APS acks ({g['goodput_over_ceiling']:.2f} of "
            f"{g['ceiling_kbit_s']:.1f} without); {g['frames_per_message']:.0f} frames/message"
        )
        print(
            f"  HHT software {g['hht_cpu_us_per_frame_median']:.0f} us CPU per frame sent "
            f"(whole process {g['process_cpu_us_per_frame_median']:.0f} us)"
        )
    layers = tunnel["layers"]
    print(
        f"Secured data frame ({layers['psdu_octets']} octets, AES-CCM* NWK+APS): build "
        f"{layers['build_secured_us']:.1f} us, open {layers['open_secured_us']:.1f} us "
        f"(unsecured build {layers['build_unsecured_us']:.1f} us)"
    )


def _print_audit(results: dict[str, Any]) -> None:
    a = results["audit"]
    print(
        f"Audit chain: verify {a['verify_events_per_second']:9.0f} events/s ({a['events']} "
        f"events in {a['verify_seconds']:.2f} s); append {a['append_us_per_event']:.0f} us/event "
        f"(chain {a['chain_us_per_event']:.1f} us of it); start-up check "
        f"{a['startup_check_ms']:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(".bench/results.json"))
    args = parser.parse_args()
    results = run(args.out)
    _print(results)
    print(f"\nWritten to {args.out}")


if __name__ == "__main__":
    main()
