"""``hht serve``'s background pusher: off on an HHT that joined no fleet; on one that did,
the fleet holds the HHT's jobs without anyone running ``hht fleet sync``."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from tests.fleet.conftest import hht_rows
from webapp.fleet.client.pusher import THREAD_NAME, Pusher
from webapp.fleet.client.sync import store_loader
from webapp.identity import terminal_identity
from webapp.store.db import Store

#: A guard against a hung test, never a timing assertion: the first push starts at once.
WAIT_LIMIT_SECONDS = 60.0
POLL_SECONDS = 0.1
HELD_JOBS = "SELECT id, status FROM jobs WHERE hht_id = %s"


def test_a_terminal_that_joined_no_fleet_starts_no_pusher(ran_template, tmp_path: Path) -> None:
    directory = tmp_path / "alone"
    shutil.copytree(ran_template[0], directory)
    store = Store.open(directory)
    try:
        assert Pusher(store, directory, store_loader(store)).start() is False
    finally:
        store.close()


def test_the_pusher_brings_the_fleet_the_terminal_s_jobs(make_hht, conn) -> None:
    van = make_hht("van-pushed")
    hht_id = terminal_identity(van).terminal_id
    jobs = [(j["id"], j["status"]) for j in hht_rows(van, "SELECT id, status FROM jobs")]
    store = Store.open(van)
    pusher = Pusher(store, van, store_loader(store), radio=lambda: {"kind": "sim"})
    try:
        assert pusher.start() is True
        assert pusher._thread is not None and pusher._thread.name == THREAD_NAME
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        held: list = []
        while time.monotonic() < deadline and len(held) < len(jobs):
            held = conn.execute(
                "SELECT id, status FROM jobs WHERE hht_id = %s", [hht_id]
            ).fetchall()
            time.sleep(POLL_SECONDS)
        assert sorted((h["id"], h["status"]) for h in held) == sorted(jobs)
    finally:
        pusher.stop()
        store.close()
