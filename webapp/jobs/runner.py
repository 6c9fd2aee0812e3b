"""The runner: one radio, one job at a time, each command delivered exactly once.

It lives on the asyncio loop that owns the radio and puts together the parts
that do the work:

* :mod:`~webapp.jobs.scan` sorts the networks a scan heard;
* :mod:`~webapp.jobs.connect` chooses the device set, holds the link to the hub
  and listens on it;
* :mod:`~webapp.jobs.receiver` commits each message from the hub before it is
  acknowledged or acted on;
* :mod:`~webapp.jobs.control` starts, pauses, aborts and resumes jobs;
* :mod:`~webapp.jobs.delivery` sends each command through the life cycle;
* :mod:`~webapp.jobs.live` keeps what is happening now and tells the pages;
* :mod:`~webapp.jobs.journal` writes job events stamped with this runner's clock.

Everything the runner commits from the loop is awaited on the store's writer thread
(:meth:`~webapp.store.db.Store.write_async`), so the loop never waits for the writer:
however long a page holds it, commands go out, answers come in and the watchdog pings.
"""

from __future__ import annotations

import logging
from typing import Any

from webapp.clock import Clock
from webapp.clock.estimate import DEFAULT_TOLERANCE_S
from webapp.jobs import repo
from webapp.jobs.captures import JobCaptures
from webapp.jobs.connect import STORAGE_FULL_MESSAGE, Connection, stand_at_site
from webapp.jobs.control import Control
from webapp.jobs.delivery import MAX_ATTEMPTS, Delivery
from webapp.jobs.doorstep import WindowWatch
from webapp.jobs.errors import JobInterrupted, RunnerError
from webapp.jobs.journal import Journal
from webapp.jobs.live import LiveBoard, LiveState, Publisher
from webapp.jobs.receiver import Receiver
from webapp.jobs.scan import classify_beacons, hubs_of_open_jobs
from webapp.jobs.waiters import Waiters
from webapp.store.db import Store
from webapp.store.events import TimeQuality
from webapp.zigbee.drivers.base import HubLink, RadioDriver

__all__ = [
    "MAX_ATTEMPTS",
    "STORAGE_FULL_MESSAGE",
    "JobInterrupted",
    "LiveState",
    "Publisher",
    "Runner",
    "RunnerError",
]

log = logging.getLogger(__name__)


class Runner:
    """One radio, one job at a time: the face the web pages, the CLI and tests use."""

    def __init__(
        self,
        store: Store,
        driver: RadioDriver,
        publish: Publisher | None = None,
        *,
        time_scale: float = 1.0,
        certificates: Any = None,
        clock: Clock | None = None,
        time_tolerance_s: float = DEFAULT_TOLERANCE_S,
        captures: JobCaptures | None = None,
    ) -> None:
        self.store = store
        self.driver = driver
        self.time_scale = time_scale
        self.certificates = certificates  # replaced when a work pack brings new ones
        self.clock = clock or Clock()  # replaced by tests that hold the time
        self.board = LiveBoard(publish)
        self.windows = WindowWatch(time_scale=time_scale)
        self.journal = Journal(store, self.board, lambda: self.clock)
        self.waiters = Waiters()
        self.receiver = Receiver(
            store,
            self.board,
            self.journal,
            self.waiters,
            link=lambda: self.connection.link,
            certificates=lambda: self.certificates,
            clock=lambda: self.clock,
        )
        self.connection = Connection(
            store,
            driver,
            self.board,
            self.journal,
            self.receiver,
            self.waiters,
            clock=lambda: self.clock,
            captures=captures,
        )
        self.captures = self.connection.captures
        self.delivery = Delivery(
            store, self.board, self.journal, self.connection, self.waiters, time_scale=time_scale
        )
        self.control = Control(
            store,
            self.board,
            self.journal,
            self.connection,
            self.delivery,
            self.waiters,
            clock=lambda: self.clock,
            time_tolerance_s=time_tolerance_s,
        )

    # ------------------------------------------------------------ state seen
    @property
    def link(self) -> HubLink | None:
        """The open link to a hub, if any."""
        return self.connection.link

    @property
    def link_job(self) -> str | None:
        """The job the open link serves."""
        return self.connection.job_id

    @property
    def active_job(self) -> str | None:
        """The job running now, if any."""
        return self.control.active_job

    @active_job.setter
    def active_job(self, job_id: str | None) -> None:
        self.control.active_job = job_id

    def time_quality(self) -> TimeQuality:
        """How good this runner's clock is now (every event it writes carries this)."""
        return self.journal.time_quality()

    def live(self, job_id: str) -> LiveState:
        return self.board.live(job_id)

    def publish(self, job_id: str, kind: str, **payload: Any) -> None:
        self.board.publish(job_id, kind, **payload)

    def publish_live(self, job_id: str) -> None:
        self.board.publish_live(job_id)

    def note(self, job_id: str, kind: str, message: str, actor: str = "hht") -> None:
        """Record something that happened outside the runner: from the pages' threads
        (it waits for the store's writer), never from the radio loop."""
        self.journal.record(job_id, kind, message, actor)

    def snapshot(self, job_id: str) -> dict[str, Any]:
        return self.board.snapshot(self.store.reader(), job_id)

    # ------------------------------------------------------------------ scan
    async def scan(self, job_id: str) -> list[dict[str, Any]]:
        """Beacons heard, the job's expected hub first, others flagged."""
        job = repo.require_job(self.store.reader(), job_id)
        live = self.board.live(job_id)
        live.phase, live.instruction = "scanning", None
        self.board.publish_live(job_id)
        stand_at_site(self.driver, job)
        try:
            beacons = await self.driver.active_scan()
        finally:
            connected = self.connection.job_id == job_id and self.connection.link
            live.phase = "connected" if connected else "idle"
            self.board.publish_live(job_id)
        out = classify_beacons(
            beacons,
            job["candidate_hubs"],
            hubs_of_open_jobs(self.store.reader()),
            self.driver.info.bands,
        )
        window = self.windows.observe(job_id, out)
        for beacon in out:
            if beacon["expected"] and window is not None:
                beacon["window"] = window
                break
        await self.journal.record_async(
            job_id,
            "scan",
            f"Scan heard {len(out)} networks",
            heard=len(out),
            hubs=[{"hub": d["extended_pan_id"], "flag": d["flag"], "lqi": d["lqi"]} for d in out],
        )
        return out

    # ------------------------------------------------------------ connecting
    async def connect(
        self,
        job_id: str,
        hub_id: str,
        actor: str = "hht",
        meters_seen: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        """Run the connection flow to ``hub_id`` for ``job_id``.

        A job with several candidate device sets is fixed to the one for ``hub_id`` (and
        ``meters_seen``) before anything goes on air; no match, no connection."""
        self.control.check_radio_free(job_id)
        await self.connection.connect(job_id, hub_id, actor, meters_seen)

    async def disconnect(self) -> None:
        await self.connection.disconnect()

    # --------------------------------------------------------------- control
    async def start(self, job_id: str, actor: str = "hht") -> None:
        """Start or resume ``job_id`` in the background."""
        await self.control.start(job_id, actor)

    async def pause(self, job_id: str, actor: str = "hht") -> None:
        await self.control.pause(job_id, actor)

    async def abort(self, job_id: str, reason: str, note: str, actor: str = "hht") -> None:
        await self.control.abort(job_id, reason, note, actor)

    async def wait(self, job_id: str) -> None:
        """Until the job's run ends (completed, failed, paused or aborted)."""
        await self.control.wait(job_id)

    async def resume_after_radio_returns(self) -> list[str]:
        """The stick is back: reconnect and resume every job its unplugging paused."""
        return await self.control.resume_after_radio_returns()
