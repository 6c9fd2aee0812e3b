"""The simulated HAN outlives the HHT: state survives reopening and a SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import FAST, SEED, START, Commands
from tests.sim.conftest import (
    RECEIVE_TIMEOUT,
    connect,
    default_response_status,
    run,
    send_and_receive,
)
from webapp.gbcs.message import parse_message
from webapp.sim.han.clock import SimClock
from webapp.sim.han.han import SimHan


def test_state_survives_reopen(tmp_path, supplier) -> None:
    state = tmp_path / "sim"
    han = SimHan.create(state, seed=SEED, clock=SimClock(FAST, start=START))
    site = han.add_site(name="Home", seed=SEED)
    command = Commands(han, supplier)
    raw = command(site.esme_id, 77)
    response = run(send_and_receive(run(connect(han, site.hub_id)), raw, ack=False))
    log, certificate = han.device_log(), han.device_certificate_pem(site.esme_id)
    han.close()

    again = SimHan.open(state, clock=SimClock(FAST, start=START))
    try:
        assert again.seed == SEED
        assert again.sites() == [site]
        assert again.device_log() == log
        assert again.device_certificate_pem(site.esme_id) == certificate

        async def scenario() -> tuple[list[bytes], bytes]:
            link = await connect(again, site.hub_id)
            held = await link.get()
            for message in held:
                await link.ack(message)
            return held, await send_and_receive(link, raw)

        held, replay = run(scenario())
        assert held == [response]
        assert default_response_status(replay) == 0x8A
        assert again.device_log() == log
    finally:
        again.close()


def test_queued_command_runs_after_hht_restart(tmp_path, supplier) -> None:
    state = tmp_path / "sim"
    frozen = SimClock(FAST, start=START, monotonic=lambda: 0.0)
    han = SimHan.create(state, seed=SEED, clock=frozen)
    site = han.add_site(name="Home", seed=SEED)
    run(run(connect(han, site.hub_id)).put(Commands(han, supplier)(site.esme_id, 5)))
    assert han.hub_status(site.hub_id)["queued_commands"] == 1
    han.close()

    again = SimHan.open(state, clock=SimClock(FAST, start=START))
    try:
        assert again.clock.now() >= START

        async def scenario() -> bytes | None:
            link = await connect(again, site.hub_id)
            return await link.receive(RECEIVE_TIMEOUT)

        response = run(scenario())
        assert response is not None and parse_message(response).counter == 5
        assert [r["executions"] for r in again.device_log()] == [1]
    finally:
        again.close()


def test_clock_never_runs_backwards(tmp_path) -> None:
    state = tmp_path / "sim"
    han = SimHan.create(state, clock=SimClock(FAST, start=START))
    han.clock.advance(10_000)
    reached = han.clock.now()
    han.close()
    again = SimHan.open(state, clock=SimClock(FAST, start=START))
    try:
        assert again.clock.now() >= reached
    finally:
        again.close()


CRASHER = textwrap.dedent(
    """
    import os, random, signal, sys, threading
    from pathlib import Path
    from webapp.sim.dcc import DemoSupplier, build_command
    from webapp.sim.han.han import SimHan
    from webapp.sim.han.hub import Route

    han = SimHan.open(Path(sys.argv[1]), time_scale=1e6)
    site = han.sites()[0]
    supplier = DemoSupplier.create()
    delay = random.Random(int(sys.argv[2])).uniform(0.05, 0.3)
    threading.Timer(delay, os.kill, (os.getpid(), signal.SIGKILL)).start()
    for counter in range(1, 100_000):
        for device in (site.esme_id, site.chf_id):
            raw = build_command(han, supplier_identity=supplier, device_eui=device,
                                counter=counter, message_code=0x0027, payload=b"", sign=False)
            han.hubs.submit(site.hub_id, raw, Route.HHT)
            han.hubs.submit(site.hub_id, raw, Route.WAN, immediate=True)
        han.hubs.pump()
    """
)


def _assert_consistent(han: SimHan) -> int:
    store = han.store
    log = store.rows("SELECT * FROM device_log")
    successes = store.rows("SELECT * FROM outbox WHERE outcome = 'success'")
    rejected = store.rows("SELECT * FROM outbox WHERE outcome != 'success'")
    assert all(row["executions"] == 1 for row in log)
    key = ("device", "counter", "message_code")
    assert sorted(tuple(r[k] for k in key) for r in log) == sorted(
        tuple(r[k] for k in key) for r in successes
    )
    assert len(rejected) == len(store.rows("SELECT * FROM rejections WHERE device IS NOT NULL"))
    for counter in store.rows("SELECT * FROM counters"):
        top = store.row(
            "SELECT max(counter) AS top FROM device_log WHERE device = ? AND originator = ?",
            [counter["device"], counter["originator"]],
        )
        assert top["top"] == counter["counter"]
    return len(log)


def test_sigkill_leaves_consistent_state(tmp_path: Path) -> None:
    state = tmp_path / "sim"
    han = SimHan.create(state, seed=SEED, time_scale=1e6)
    han.add_site(name="Crash", seed=SEED)
    han.close()
    for attempt in range(2):
        done = subprocess.run(
            [sys.executable, "-c", CRASHER, str(state), str(attempt)],
            cwd=Path(__file__).resolve().parents[3],
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
        again = SimHan.open(state, time_scale=1e6)
        try:
            executed = _assert_consistent(again)
            again.pump()
            assert _assert_consistent(again) >= executed > 0
        finally:
            again.close()


def test_schema_1_file_is_migrated(tmp_path) -> None:
    import sqlite3

    state = tmp_path / "sim"
    han = SimHan.create(state, clock=SimClock(FAST, start=START))
    site = han.add_site(name="Old", neighbours=0)
    han.close()
    conn = sqlite3.connect(state / "han.db")
    conn.execute("ALTER TABLE hubs DROP COLUMN boots")
    conn.execute("ALTER TABLE hubs DROP COLUMN channel_868")
    for column in ("window_until", "opens_without_wan", "wan_down_since"):
        conn.execute(f"ALTER TABLE hubs DROP COLUMN {column}")
    for column in (
        "in_device_log",
        "replaces",
        "menu_pin",
        "menu_failures",
        "menu_locked_until",
        "dropped_at",
    ):
        conn.execute(f"ALTER TABLE devices DROP COLUMN {column}")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    conn.commit()
    conn.close()
    again = SimHan.open(state, clock=SimClock(FAST, start=START))
    try:
        assert again.store.get_meta("schema") == "5"
        assert again.hubs.hub(site.hub_id)["channel_868"] is None
        assert again.hubs.hub(site.hub_id)["opens_without_wan"] == 0
        assert again.hubs.device(site.gsme_id)["dropped_at"] is None
        assert run(connect(again, site.hub_id)).is_open
    finally:
        again.close()
