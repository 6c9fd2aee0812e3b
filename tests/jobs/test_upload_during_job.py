"""An upload never holds up the radio loop (issue 15, item 2).

The issue's upload held the store's writer for 53 s while it verified a hostile pack: the
running job froze, the gas-meter button and a login waited, the watchdog stopped. Here a
hostile upload is held *in the middle of its verification* (its DUIS parser waits on an
event) while a gas-meter job runs to its end, with a button press; and another thread
holds the writer itself while the loop goes on beating and pinging the watchdog.

What is asserted is structural: the job finished while the upload was still verifying,
the parser never ran with the writer held, the loop never entered a blocking
``store.write()``, and the loop's heartbeats and watchdog pings went on while the writer
was held.  The gaps measured are printed as figures, never asserted (``make bench``
measures them without stand-ins: README, "Benchmarks").
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.jobs.conftest import WAIT_LIMIT_SECONDS, Rig, connect, until
from tests.workpack.conftest import job_spec, pack_spec, unpack
from webapp import station as station_module
from webapp.sim.packs import build_pack, seal
from webapp.store.db import Store
from webapp.workpack import load
from webapp.workpack.archive import write_archive
from webapp.workpack.errors import WorkPackError
from webapp.workpack.manifest import MANIFEST_NAME, SIGNATURE_NAME

HEARTBEAT_SECONDS = 0.002
WATCHDOG_SECONDS = 0.005
MENTIONS = 2_000  # one DUIS file named again and again (under the cap: it gets parsed)
BEATS_WHILE_HELD = 50
PINGS_WHILE_HELD = 10
GAS_TIME_SCALE = 10.0  # the gas meter sleeps; as in the runner's own gas test
FAST_TIME_SCALE = 1000.0


def _max_gap(times: list[float]) -> float:
    return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)


@dataclass
class LoopWatch:
    """The loop's heartbeats and watchdog pings (station._watchdog, notify recorded)."""

    beats: list[float] = field(default_factory=list)
    pings: list[float] = field(default_factory=list)
    tasks: list[asyncio.Task] = field(default_factory=list)

    async def _beat(self) -> None:
        while True:
            self.beats.append(time.monotonic())
            await asyncio.sleep(HEARTBEAT_SECONDS)

    def start(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def notify(state: str) -> bool:
            assert state == "WATCHDOG=1"
            self.pings.append(time.monotonic())
            return True

        monkeypatch.setattr(station_module, "notify", notify)
        self.tasks = [
            asyncio.create_task(self._beat()),
            asyncio.create_task(station_module._watchdog(WATCHDOG_SECONDS)),
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def figures(self) -> dict[str, float]:
        return {
            "longest_loop_stall_s": round(_max_gap(self.beats), 4),
            "longest_watchdog_gap_s": round(_max_gap(self.pings), 4),
        }


class WriterLog:
    """Every ``store.write()`` entered, and whether the thread entering it runs an event
    loop (the radio loop must never block on the writer); whether the writer is held now."""

    def __init__(self, store: Store) -> None:
        self.on_loop: list[str] = []
        self.held = 0
        real = store.write

        @contextmanager
        def logged() -> Iterator[Any]:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                self.on_loop.append(threading.current_thread().name)
            with real() as db:
                self.held += 1
                try:
                    yield db
                finally:
                    self.held -= 1

        store.write = logged  # type: ignore[method-assign]


def _hostile_pack(demo_dir: Path) -> bytes:
    """A pack from the trusted supplier whose manifest names one DUIS file MENTIONS times."""
    built = build_pack(pack_spec(job_spec("HX1", "1 Upload Road", steps=["CCS01_ESME"])), demo_dir)
    members, manifest = unpack(built.data())
    commands = manifest["jobs"][0]["device_sets"][0]["commands"]
    commands[0] = [commands[0][0]] * MENTIONS
    content = {k: v for k, v in members.items() if k not in (MANIFEST_NAME, SIGNATURE_NAME)}
    unsigned = {k: v for k, v in manifest.items() if k != "files"}
    return write_archive(seal(content, unsigned, built.supplier.private_key))


class StuckUpload:
    """An upload whose verification stops at its first DUIS parse until let go."""

    def __init__(self, rig: Rig, data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
        self.parsing = threading.Event()
        self.gate = threading.Event()
        self.parsed_under_writer: list[bool] = []
        self.outcome: list[BaseException | object] = []
        self.writers = WriterLog(rig.store)
        real = load.parse_local_command

        def stuck(content: bytes) -> Any:
            self.parsed_under_writer.append(self.writers.held > 0)
            self.parsing.set()
            if not self.gate.wait(WAIT_LIMIT_SECONDS):
                raise TimeoutError("the upload was never let go")
            return real(content)

        monkeypatch.setattr(load, "parse_local_command", stuck)
        assert rig.station is not None
        station = rig.station
        self._thread = threading.Thread(
            target=self._upload, args=(station, data), name="upload", daemon=True
        )

    def _upload(self, station: Any, data: bytes) -> None:
        try:
            self.outcome.append(station.load_pack(data, source="phone:x.zip", actor="installer:x"))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.outcome.append(exc)

    def start(self) -> None:
        self._thread.start()
        assert self.parsing.wait(WAIT_LIMIT_SECONDS), "the upload never reached its DUIS files"

    def finish(self) -> BaseException | object:
        self.gate.set()
        self._thread.join(WAIT_LIMIT_SECONDS)
        return self.outcome[0]

    @property
    def in_progress(self) -> bool:
        return self._thread.is_alive() and not self.gate.is_set()


def test_a_gas_job_runs_to_its_end_while_a_hostile_upload_is_being_verified(
    rig_factory, demo_jobs, demo_dir, monkeypatch
) -> None:
    data = _hostile_pack(demo_dir)  # built before the rig opens the simulated HAN
    rig = rig_factory(time_scale=GAS_TIME_SCALE)
    job = next(j for j in demo_jobs if j["site"].startswith("21"))  # the gas exchange
    hub = job["expected_hub_id"]
    upload = StuckUpload(rig, data, monkeypatch)
    watch = LoopWatch()
    figures: dict[str, float] = {}

    def first_gas() -> dict:
        return next(c for c in rig.commands(job["id"]) if c["device_role"] == "gsme")

    async def scenario() -> bool:
        watch.start(monkeypatch)
        upload.start()
        await connect(rig, job["id"])
        await rig.runner.start(job["id"])
        await until(rig.runner, lambda: first_gas()["state"] == "delivered")
        # the installer presses the gas meter's button, as the page's API does: the press
        # on the loop, then the note from the page's thread
        pressed = time.monotonic()
        rig.han.press_gsme_button(hub)
        await asyncio.to_thread(
            rig.runner.note, job["id"], "sim", "Gas meter button pressed (simulator)", "test"
        )
        figures["button_press_s"] = round(time.monotonic() - pressed, 4)
        await rig.runner.wait(job["id"])
        await watch.stop()
        return upload.in_progress

    still_verifying = asyncio.run(scenario())
    outcome = upload.finish()
    figures.update(watch.figures())
    print(f"\nwhile a hostile upload was being verified: {figures}")
    assert still_verifying, "the job must finish while the upload is still verifying"
    assert rig.job(job["id"])["status"] == "completed"
    assert all(c["state"] == "answered" for c in rig.commands(job["id"]))
    assert upload.parsed_under_writer and not any(upload.parsed_under_writer)
    assert upload.writers.on_loop == [], "the radio loop blocked on the store's writer"
    assert isinstance(outcome, WorkPackError)
    assert any(f"named {MENTIONS} times" in p for p in outcome.problems)
    assert len(watch.pings) > 1 and len(watch.beats) > 1


class HeldWriter:
    """Another thread holding the store's writer until let go (or the guard runs out)."""

    def __init__(self, store: Store) -> None:
        self.taken = threading.Event()
        self.release = threading.Event()
        self.timed_out = False
        self._thread = threading.Thread(target=self._hold, args=(store,), daemon=True)

    def _hold(self, store: Store) -> None:
        with store.write():
            self.taken.set()
            self.timed_out = not self.release.wait(WAIT_LIMIT_SECONDS)

    def __enter__(self) -> HeldWriter:
        self._thread.start()
        assert self.taken.wait(WAIT_LIMIT_SECONDS)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._thread.join(WAIT_LIMIT_SECONDS)


def test_the_loop_beats_and_pings_while_another_thread_holds_the_writer(
    rig_factory, demo_jobs, monkeypatch
) -> None:
    rig = rig_factory(time_scale=FAST_TIME_SCALE)
    job_id = demo_jobs[0]["id"]
    watch = LoopWatch()
    writers = WriterLog(rig.store)

    async def scenario() -> tuple[str, bool]:
        watch.start(monkeypatch)
        await connect(rig, job_id)
        with HeldWriter(rig.store) as held:
            await rig.runner.start(job_id)  # its first commit waits for the writer
            beats, pings = len(watch.beats), len(watch.pings)
            while len(watch.beats) < beats + BEATS_WHILE_HELD or (
                len(watch.pings) < pings + PINGS_WHILE_HELD
            ):
                await asyncio.sleep(HEARTBEAT_SECONDS)
            status_while_held = rig.job(job_id)["status"]
        await rig.runner.wait(job_id)
        await watch.stop()
        return status_while_held, held.timed_out

    status_while_held, timed_out = asyncio.run(scenario())
    print(f"\nwhile another thread held the writer: {watch.figures()}")
    assert not timed_out, "the loop stopped while the writer was held"
    assert status_while_held == "ready", "nothing commits while the writer is held"
    assert rig.job(job_id)["status"] == "completed"
    assert writers.on_loop == []
