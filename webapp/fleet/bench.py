"""``make fleet-bench``: the fleet office at the size of a large installer company.

1. A throwaway PostgreSQL (or ``--dsn``), migrated; ``--hhts`` terminal identities made
   and enrolled.
2. Each HHT's history generated straight in the protocol's format: ``--jobs`` jobs of
   ``--events-per-job`` chained events (links computed as an HHT computes them), with their
   service requests, commands and responses (raw bytes), cut into batches as the sync client
   cuts them, each signed with that HHT's key; written to files first, so generating costs
   nothing during the sync.
3. ``hht fleet serve`` on loopback; ``--clients`` processes push every HHT's batches over
   HTTP (one HHT at a time each, its batches in order): sync throughput in events per
   second.  One HHT's batches played again must add nothing.
4. The history page's query (:func:`webapp.fleet.office.history.page`) for each filter,
   ``--queries`` times with varied values, first pages and next pages by cursor: p95 in
   milliseconds, with the plan (EXPLAIN) of each filter.
5. The database's size, per table, and per HHT.

Prints a summary and writes everything to ``--out`` (JSON).  Timings are only reported
here, never asserted by a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_HHTS = 1000
DEFAULT_JOBS = 100
DEFAULT_EVENTS_PER_JOB = 10
DEFAULT_CLIENTS = 4
DEFAULT_QUERIES = 40
COMMANDS_PER_JOB = 3
RAW_BYTES = 48
INSTALLERS_PER_HHT = 2
SUPPLIERS = ("90B3D51F30DE0001", "90B3D51F30DE0002", "90B3D51F30DE0003", "90B3D51F30DE0004")
STREETS = (
    "Acacia Avenue", "Mill Lane", "Station Road", "Church Street", "High Street",
    "Park Road", "Victoria Road", "Green Lane", "Manor Road", "Kings Road",
)  # fmt: skip
STATUSES = (("completed", 70), ("failed", 10), ("ready", 14), ("aborted", 6))
SPREAD_DAYS = 365
FLATS_IN = 5
#: Site prefixes that match many jobs (the flats): the history walks its own order for them.
BROAD_SITE_PREFIXES = ("flat", "Flat 1", "fla", "Flat 2", "FLAT 7,")
SERVER_START_SECONDS = 90.0
REQUEST_TIMEOUT_SECONDS = 120.0
PERCENTILE = 95
#: The acceptance's bound for every filter's p95 (reported against, never asserted).
P95_BOUND_MS = 100.0


# ------------------------------------------------------------------ generating HHTs
def _identity(n: int) -> tuple[Any, bytes, str]:
    """A generated HHT's key, its certificate (PEM) and its id, as ``terminal_identity``
    would make them."""
    from cryptography.hazmat.primitives import serialization

    from webapp.identity import self_signed

    terminal_id = f"HHT-{n:012X}"
    key, cert = self_signed("HHT", f"Hand Held Terminal {terminal_id}", terminal_id)
    return key, cert.public_bytes(serialization.Encoding.PEM), terminal_id


def _status(rng: random.Random) -> str:
    pick = rng.randrange(100)
    for status, weight in STATUSES:
        if pick < weight:
            return status
        pick -= weight
    return STATUSES[0][0]


def _site(rng: random.Random) -> str:
    """A house on one of the streets, one in ``FLATS_IN`` a flat ("Flat 3, 12 Mill Lane")."""
    house = f"{rng.randrange(1, 200)} {STREETS[rng.randrange(len(STREETS))]}"
    return f"Flat {rng.randrange(1, 21)}, {house}" if rng.randrange(FLATS_IN) == 0 else house


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _jobs_and_events(
    n: int, jobs: int, events_per_job: int, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """HHT ``n``'s job snapshots, its chained events, and its installers."""
    from webapp.fleet.client.collect import digest
    from webapp.fleet.protocol import b64
    from webapp.store.audit.chain import GENESIS, RECORD_COLUMNS, digest_of, link_of, record_text

    rng = random.Random(n)
    installers = [f"inst{n:05d}{chr(97 + i)}" for i in range(INSTALLERS_PER_HHT)]
    snapshots, events = [], []
    link, seq, command_id = GENESIS, 0, 0
    for k in range(jobs):
        job_id = f"J{n:05d}-{k:03d}"
        created = now - timedelta(days=rng.uniform(0, SPREAD_DAYS))
        status = _status(rng)
        supplier = SUPPLIERS[rng.randrange(len(SUPPLIERS))]
        finished = created + timedelta(minutes=45) if status in ("completed", "failed") else None
        job = {
            "id": job_id,
            "site": _site(rng),
            "address": "Leeds",
            "mpxn": f"{1_000_000_000_000 + n * 1000 + k}",
            "supplier_eui": supplier,
            "appointment": created.date().isoformat(),
            "status": status,
            "status_message": None,
            "pause_reason": None,
            "expected_hub_id": f"00DB12{n:05X}{k:05X}",
            "connected_hub_id": f"00DB12{n:05X}{k:05X}" if finished else None,
            "created_at": _iso(created),
            "started_at": _iso(created + timedelta(minutes=5)),
            "finished_at": _iso(finished) if finished else None,
            "abort_reason": "no-access" if status == "aborted" else None,
            "abort_note": None,
            "hub_install": None,
            "hub_status_unload_id": None,
            "installer": installers[k % INSTALLERS_PER_HHT],
            "work_pack": f"PACK-{n:05d}-{k // 20:02d}",
        }
        commands, responses = [], []
        for c in range(COMMANDS_PER_JOB):
            command_id += 1
            sent = created + timedelta(minutes=10 + c)
            commands.append(
                {
                    "id": command_id,
                    "job_id": job_id,
                    "service_request_id": n * 1000 + k,
                    "seq": c + 1,
                    "raw": b64(rng.randbytes(RAW_BYTES)),
                    "counter": command_id,
                    "message_code": 0x0001 + c,
                    "use_case": "ECS17b",
                    "originator": supplier,
                    "recipient": job["expected_hub_id"],
                    "device_role": "esme",
                    "state": "answered",
                    "attempts": 1,
                    "outcome": "success",
                    "outcome_reason": None,
                    "last_error": None,
                    "sent_at": _iso(sent),
                    "answered_at": _iso(sent + timedelta(seconds=3)),
                    "duis_request_id": None,
                }  # fmt: skip
            )
            responses.append(
                {
                    "id": command_id,
                    "command_id": command_id,
                    "job_id": job_id,
                    "raw": b64(rng.randbytes(RAW_BYTES)),
                    "sha256": "0" * 64,
                    "kind": "response",
                    "counter": command_id,
                    "message_code": 0x0001 + c,
                    "originator": job["expected_hub_id"],
                    "recipient": supplier,
                    "outcome": "success",
                    "outcome_reason": None,
                    "signature": "absent",
                    "route": "hht",
                    "received_at": _iso(sent + timedelta(seconds=3)),
                    "duplicate_of": None,
                    "received_unload_id": None,
                }  # fmt: skip
            )
        snapshot = {
            "job": job,
            "service_requests": [
                {
                    "id": n * 1000 + k,
                    "job_id": job_id,
                    "seq": 1,
                    "service_reference": "11.2",
                    "service_reference_variant": "11.2",
                    "use_case": "ECS17b",
                    "title": "Read the meter",
                    "duis_request_id": None,
                    "command_variant": 1,
                    "state": "done",
                }  # fmt: skip
            ],
            "commands": commands,
            "responses": responses,
        }
        snapshots.append({**snapshot, "digest": digest(snapshot)})
        for e in range(events_per_job):
            seq += 1
            row = {
                "id": seq,
                "seq": seq,
                "job_id": job_id,
                "at": _iso(created + timedelta(minutes=e)),
                "kind": "command-answered" if e else "job-started",
                "message": f"Command {e} answered by the electricity meter",
                "data": json.dumps({"command": e, "counter": seq}),
                "actor": job["installer"],
                "time_source": "phone",
                "time_uncertainty_s": 0.5,
                "time_offset_s": 0.0,
            }
            text = record_text([row[column] for column in RECORD_COLUMNS])
            assert text is not None
            new_link = link_of(link, digest_of(text))
            events.append({**row, "prev_hash": link, "hash": new_link})
            link = new_link
    return snapshots, events, installers


def _batches(
    terminal_id: str,
    snapshots: list[dict[str, Any]],
    events: list[dict[str, Any]],
    installers: list[str],
    now: datetime,
) -> list[dict[str, Any]]:
    """The batches the sync client would send for this history, in order."""
    from webapp.fleet import protocol
    from webapp.store.audit.chain import GENESIS

    head = events[-1]["seq"] if events else 0
    per_events, per_jobs = protocol.EVENTS_PER_BATCH, protocol.JOBS_PER_BATCH
    count = max(-(-len(events) // per_events), -(-len(snapshots) // per_jobs), 1)
    out, chain_seq, link = [], 0, GENESIS
    for i in range(count):
        chunk = events[i * per_events : (i + 1) * per_events]
        registers = None
        if i == 0:
            users = [
                {"username": u, "display_name": u, "role": "installer", "disabled": 0}
                for u in installers
            ]
            suppliers = [{"eui": s, "name": f"Supplier {s[-1]}"} for s in SUPPLIERS]
            content = {
                "no_wan": [],
                "unloads": [],
                "unload_items": [],
                "users": users,
                "suppliers": suppliers,
            }
            registers = {**content, "digest": f"bench-{terminal_id}"}
        out.append(
            {
                "format": protocol.BATCH_FORMAT,
                "hht": terminal_id,
                "seq": chunk[-1]["seq"] if chunk else chain_seq,
                "as_of": head,
                "after": {"seq": chain_seq, "link": chunk[0]["prev_hash"] if chunk else link},
                "events": chunk,
                "jobs": snapshots[i * per_jobs : (i + 1) * per_jobs],
                "loose": [],
                "registers": registers,
                "health": {"hht_clock": _iso(now), "free_bytes": 10**10, "radio": {}},
            }
        )
        if chunk:
            chain_seq, link = chunk[-1]["seq"], chunk[-1]["hash"]
    return out


def _generate(args: tuple[int, int, int, str, str]) -> tuple[int, str, str, int, int]:
    """Make HHT ``n``'s identity and signed batches in ``folder``; its id, certificate,
    batches and events."""
    from webapp.fleet import protocol

    n, jobs, events_per_job, folder, now_text = args
    now = datetime.fromisoformat(now_text)
    key, cert_pem, terminal_id = _identity(n)
    snapshots, events, installers = _jobs_and_events(n, jobs, events_per_job, now)
    batches = _batches(terminal_id, snapshots, events, installers, now)
    for i, batch in enumerate(batches):
        body = protocol.encode(batch)
        path = Path(folder) / f"{n:06d}-{i:03d}"
        path.with_suffix(".json").write_bytes(body)
        path.with_suffix(".sig").write_text(protocol.sign(body, key))
    return n, cert_pem.decode(), terminal_id, len(batches), len(events)


# ------------------------------------------------------------------ syncing
def _push(args: tuple[str, int, list[tuple[str, list[str]]]]) -> tuple[int, int, float]:
    """Post each HHT's batches in order over one keep-alive connection; batches and bytes
    sent, and seconds spent."""
    from webapp.fleet import protocol

    host, port, work = args
    conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_SECONDS)
    sent = size = 0
    started = time.perf_counter()
    for terminal_id, paths in work:
        for path in paths:
            body = Path(path).with_suffix(".json").read_bytes()
            signature = Path(path).with_suffix(".sig").read_text()
            conn.request(
                "POST",
                protocol.BATCH,
                body=body,
                headers={
                    "Content-Type": "application/json",
                    protocol.TERMINAL_HEADER: terminal_id,
                    protocol.SIGNATURE_HEADER: signature,
                },
            )
            response = conn.getresponse()
            reply = response.read()
            if response.status != 200:
                raise RuntimeError(f"{terminal_id} {path}: {response.status} {reply[:300]!r}")
            sent += 1
            size += len(body)
    conn.close()
    return sent, size, time.perf_counter() - started


def _start_server(dsn: str, port: int, folder: Path, workers: int) -> Any:
    import socket
    import subprocess

    hht = str(Path(sys.executable).with_name("hht"))
    log_file = open(folder / "fleet-server.log", "ab")  # noqa: SIM115 - the server's lifetime
    server = subprocess.Popen(
        [
            hht,
            "fleet",
            "serve",
            "--dsn",
            dsn,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--identity-dir",
            str(folder / "identity"),
            "--workers",
            str(workers),
        ],  # fmt: skip
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the fleet server stopped: see {folder / 'fleet-server.log'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the fleet server did not start")


# ------------------------------------------------------------------ history queries
def _filter_values(conn: Any, queries: int, rng: random.Random) -> dict[str, list[dict[str, str]]]:
    def sample(sql: str) -> list[Any]:
        rows = [list(r.values())[0] for r in conn.execute(sql)]
        return [rows[rng.randrange(len(rows))] for _ in range(queries)] if rows else []

    hhts = sample("SELECT name FROM hhts ORDER BY random() LIMIT 200")
    installers = sample("SELECT DISTINCT installer FROM jobs ORDER BY 1 LIMIT 2000")
    days = sample("SELECT DISTINCT sort_at::date::text FROM jobs ORDER BY 1")
    mpxns = sample("SELECT mpxn FROM jobs ORDER BY random() LIMIT 200")
    sites = sample("SELECT DISTINCT site FROM jobs ORDER BY 1 LIMIT 2000")
    return {
        "none": [{} for _ in range(queries)],
        "hht": [{"hht": v} for v in hhts],
        "installer": [{"installer": v} for v in installers],
        "date": [{"date": v} for v in days],
        "status": [{"status": s} for s, _ in STATUSES for _ in range(queries // len(STATUSES))],
        "mpxn": [{"q": v} for v in mpxns],
        "site": [{"q": v[: rng.randrange(4, max(5, len(v)))]} for v in sites],
        "site (broad)": [
            {"q": BROAD_SITE_PREFIXES[i % len(BROAD_SITE_PREFIXES)]} for i in range(queries)
        ],
        "supplier": [{"supplier": SUPPLIERS[i % len(SUPPLIERS)]} for i in range(queries)],
        "status+supplier": [
            {"status": "failed", "supplier": SUPPLIERS[i % len(SUPPLIERS)]} for i in range(queries)
        ],
    }


def _plan(conn: Any, filters: Any) -> dict[str, Any]:
    """The plan of the first page's query for ``filters`` as it ran (EXPLAIN ANALYZE): its
    nodes, whether it read the jobs table whole, whether it compiled (JIT), its time."""
    from webapp.fleet.office import history

    sql, params = history.page_query(conn, filters, None, history.PAGE_SIZE)
    plan = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params).fetchone()
    top = list(plan.values())[0][0]
    tree = top["Plan"]
    nodes: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        text = str(node["Node Type"])
        if "Index Name" in node:
            text += f" {node['Index Name']}"
        if "Relation Name" in node:
            text += f" on {node['Relation Name']}"
        nodes.append(text)
        for child in node.get("Plans", []):
            walk(child)

    walk(tree)
    return {
        "nodes": nodes,
        "seq_scan_on_jobs": any(n.startswith("Seq Scan on jobs") for n in nodes),
        "jit": "JIT" in top,
        "execution_ms": top.get("Execution Time"),
    }


def measure_history(dsn: str, queries: int, seed: int = 1) -> dict[str, Any]:
    """p95 of the history page's query per filter (first pages and next pages)."""
    import psycopg
    from psycopg.rows import dict_row

    from webapp.fleet.office import history
    from webapp.fleet.office.db import configure

    rng = random.Random(seed)
    out: dict[str, Any] = {}
    with psycopg.connect(dsn, row_factory=dict_row, autocommit=True) as conn:
        configure(conn)  # as the server's pool sets each connection
        values = _filter_values(conn, queries, rng)
        for name, cases in values.items():
            times: list[float] = []
            rows_seen = 0
            slowest: tuple[float, dict[str, str]] = (-1.0, cases[0] if cases else {})
            for case in cases:
                filters = history.Filters.from_args(case)
                started = time.perf_counter()
                rows, cursor = history.page(conn, filters)
                times.append((time.perf_counter() - started) * 1000)
                slowest = max(slowest, (times[-1], case), key=lambda t: t[0])
                rows_seen += len(rows)
                if cursor:
                    started = time.perf_counter()
                    history.page(conn, filters, cursor)
                    times.append((time.perf_counter() - started) * 1000)
            if not times:
                continue
            times.sort()
            p95 = times[min(len(times) - 1, round(len(times) * PERCENTILE / 100) - 1)]
            out[name] = {
                "queries": len(times),
                "p95_ms": round(p95, 2),
                "median_ms": round(statistics.median(times), 2),
                "max_ms": round(times[-1], 2),
                "rows_per_first_page": round(rows_seen / len(cases), 1),
                "slowest_case": slowest[1],
                "plan": _plan(conn, history.Filters.from_args(slowest[1])),
                "under_bound": p95 < P95_BOUND_MS,
            }
    return out


def sizes(dsn: str) -> dict[str, Any]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, row_factory=dict_row, autocommit=True) as conn:
        total = conn.execute("SELECT pg_database_size(current_database()) AS b").fetchone()["b"]
        tables = {}
        for table in ("events", "jobs", "commands", "responses", "service_requests", "hhts"):
            tables[table] = conn.execute(  # a partitioned table's size is its partitions'
                "SELECT greatest((SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
                "FROM pg_partition_tree(%s::regclass)), pg_total_relation_size(%s::regclass))"
                "::bigint AS b",
                [table, table],
            ).fetchone()["b"]
        partitions = conn.execute(
            "SELECT count(*) AS n, max(pg_total_relation_size(relid)) AS largest "
            "FROM pg_partition_tree('events'::regclass) WHERE isleaf"
        ).fetchone()
        month_rows = conn.execute(
            "SELECT max(n) AS n FROM (SELECT count(*) AS n FROM events "
            "GROUP BY date_trunc('month', at)) m"
        ).fetchone()["n"]
        counts = {
            t: conn.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
            for t in ("hhts", "jobs", "events", "commands", "responses")
        }
    return {
        "database_bytes": total,
        "tables_bytes": tables,
        "event_partitions": partitions["n"],
        "largest_event_partition_bytes": partitions["largest"],
        "largest_event_month_rows": month_rows,
        "rows": counts,
    }


def backup(dsn: str, folder: Path) -> dict[str, Any]:
    """``pg_dump -Fc`` of the database (the README's backup): seconds and bytes."""
    import subprocess

    from webapp.fleet.office.cluster import find_bin_dir

    target = folder / "fleet.dump"
    started = time.perf_counter()
    subprocess.run(
        [str(find_bin_dir() / "pg_dump"), "-Fc", "-f", str(target), "-d", dsn],
        check=True,
        capture_output=True,
    )
    return {"seconds": round(time.perf_counter() - started, 1), "bytes": target.stat().st_size}


class _Reader:
    """History first pages (no filter, and by status) in a loop while the sync runs: what a
    supervisor waits for while the fleet ingests."""

    def __init__(self, dsn: str) -> None:
        import threading

        self.dsn = dsn
        self.times: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg
        from psycopg.rows import dict_row

        from webapp.fleet.office import history
        from webapp.fleet.office.db import configure

        cases = [history.Filters(), history.Filters(status="failed")]
        with psycopg.connect(self.dsn, row_factory=dict_row, autocommit=True) as conn:
            configure(conn)
            n = 0
            while not self.stop.wait(0.05):
                started = time.perf_counter()
                history.page(conn, cases[n % len(cases)])
                self.times.append((time.perf_counter() - started) * 1000)
                n += 1

    def result(self) -> dict[str, Any]:
        self.stop.set()
        self.thread.join()
        times = sorted(self.times)
        if not times:
            return {"queries": 0}
        p95 = times[min(len(times) - 1, round(len(times) * PERCENTILE / 100) - 1)]
        return {"queries": len(times), "p95_ms": round(p95, 2), "max_ms": round(times[-1], 2)}


def _replay_adds_nothing(dsn: str, host: str, port: int, work: tuple[str, list[str]]) -> bool:
    import psycopg

    def counts() -> tuple[int, ...]:
        with psycopg.connect(dsn) as conn:
            return tuple(
                conn.execute(f"SELECT count(*) FROM {t} WHERE hht_id = %s", [work[0]]).fetchone()[0]
                for t in ("events", "jobs", "commands", "responses")
            )

    before = counts()
    _push((host, port, [work]))
    return counts() == before


# ------------------------------------------------------------------ the run
def run(args: argparse.Namespace) -> dict[str, Any]:
    import psycopg

    from webapp.fleet.office.cluster import Cluster, free_port
    from webapp.fleet.office.schema import migrate

    cluster = None if args.dsn else Cluster.start()
    dsn = args.dsn or cluster.dsn()  # type: ignore[union-attr]
    folder = Path(tempfile.mkdtemp(prefix="hht-fleet-bench-"))
    server = None
    try:
        migrate(dsn)
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        work_args = [(n, args.jobs, args.events_per_job, str(folder), now.isoformat())
                     for n in range(1, args.hhts + 1)]  # fmt: skip
        with multiprocessing.Pool(args.workers) as pool:
            made = pool.map(_generate, work_args, chunksize=8)
        generated_s = time.perf_counter() - started
        print(f"generated {args.hhts} HHTs' batches in {generated_s:.1f} s", flush=True)
        with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO hhts (id, name, fingerprint, certificate_pem) VALUES (%s, %s, %s, %s)",
                [(tid, f"van-{n:05d}", tid, pem) for n, pem, tid, _b, _e in made],
            )
        port = args.port or free_port()
        server = _start_server(dsn, port, folder, args.server_workers)
        work = [
            (tid, [str(folder / f"{n:06d}-{i:03d}") for i in range(batches)])
            for n, _pem, tid, batches, _e in made
        ]
        shares = [(("127.0.0.1", port, work[k :: args.clients])) for k in range(args.clients)]
        reader = _Reader(dsn)
        reader.thread.start()
        started = time.perf_counter()
        with multiprocessing.Pool(args.clients) as pool:
            pushed = pool.map(_push, shares)
        sync_s = time.perf_counter() - started
        during_sync = reader.result()
        events = sum(e for *_rest, e in made)
        batches = sum(p[0] for p in pushed)
        print(f"synced {events} events in {batches} batches in {sync_s:.1f} s", flush=True)
        replay_ok = _replay_adds_nothing(dsn, "127.0.0.1", port, work[0])
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        history_p95 = measure_history(dsn, args.queries)
        size = sizes(dsn)
        dump = backup(dsn, folder)
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        shutil.rmtree(folder, ignore_errors=True)
        if cluster is not None:
            cluster.stop()
    jobs = size["rows"]["jobs"]
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        "size": {
            "hhts": args.hhts,
            "jobs_per_hht": args.jobs,
            "events_per_job": args.events_per_job,
            "jobs": jobs,
            "events": events,
        },
        "generate_s": round(generated_s, 1),
        "sync": {
            "clients": args.clients,
            "server_workers": args.server_workers,
            "batches": batches,
            "bytes": sum(p[1] for p in pushed),
            "seconds": round(sync_s, 1),
            "events_per_s": round(events / sync_s),
            "jobs_per_s": round(jobs / sync_s),
            "replay_adds_nothing": replay_ok,
            "history_while_syncing": during_sync,
        },
        "backup_pg_dump": dump,
        "history_p95_ms": {k: v["p95_ms"] for k, v in history_p95.items()},
        "history": history_p95,
        "p95_bound_ms": P95_BOUND_MS,
        "database": size,
        "per_hht_bytes": round(size["database_bytes"] / max(1, args.hhts)),
    }


def _print(result: dict[str, Any]) -> None:
    s, sync = result["size"], result["sync"]
    print(f"fleet-bench: {s['hhts']} HHTs x {s['jobs_per_hht']} jobs = {s['jobs']} jobs, "
          f"{s['events']} events")  # fmt: skip
    print(f"  sync: {sync['events_per_s']} events/s ({sync['jobs_per_s']} jobs/s), "
          f"{sync['batches']} batches in {sync['seconds']} s with {sync['clients']} clients; "
          f"a replay adds nothing: {sync['replay_adds_nothing']}")  # fmt: skip
    during = sync["history_while_syncing"]
    if during.get("queries"):
        print(f"  history while syncing: p95 {during['p95_ms']} ms over {during['queries']} pages")
    for name, row in result["history"].items():
        flag = "" if row["under_bound"] else f"  OVER {result['p95_bound_ms']} ms"
        print(f"  history {name:<16} p95 {row['p95_ms']:>7} ms  median {row['median_ms']:>6} ms"
              f"  {' > '.join(row['plan']['nodes'][:4])}{flag}")  # fmt: skip
    db = result["database"]
    print(f"  database: {db['database_bytes'] / 2**20:.0f} MiB "
          f"({result['per_hht_bytes'] / 2**10:.0f} KiB per HHT), "
          f"{db['event_partitions']} event partitions")  # fmt: skip
    dump = result["backup_pg_dump"]
    print(f"  pg_dump -Fc: {dump['bytes'] / 2**20:.0f} MiB in {dump['seconds']} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hhts", type=int, default=DEFAULT_HHTS)
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="jobs per HHT")
    parser.add_argument("--events-per-job", type=int, default=DEFAULT_EVENTS_PER_JOB)
    parser.add_argument("--clients", type=int, default=DEFAULT_CLIENTS)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="generating")
    parser.add_argument("--server-workers", type=int, default=1, help="hht fleet serve's")
    parser.add_argument("--queries", type=int, default=DEFAULT_QUERIES, help="per filter")
    parser.add_argument("--dsn", default=None, help="an empty database (default: throwaway)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(".bench/fleet.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args)
    _print(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True, default=str))
    print(f"written to {args.out}")
    return 0 if all(r["under_bound"] for r in result["history"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
