"""Starting, pausing, aborting and resuming jobs: one job at a time on one radio."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from webapp.clock import Clock, time_setting_allowed
from webapp.jobs import repo
from webapp.jobs.connect import Connection
from webapp.jobs.delivery import Delivery
from webapp.jobs.errors import RunnerError
from webapp.jobs.journal import Journal
from webapp.jobs.live import LiveBoard
from webapp.jobs.states import ABORT_REASONS, FINISHED_JOB_STATUSES, JobStatus, PauseReason
from webapp.jobs.waiters import Waiters
from webapp.store.clock import utc_now
from webapp.store.db import Store
from webapp.zigbee.drivers.base import RadioError

log = logging.getLogger(__name__)


@dataclass
class JobControl:
    """The running task of one job and the flag that asks it to pause."""

    pause: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None


class Control:
    """The installer's buttons: start or resume, pause, abort; and resuming by itself."""

    def __init__(
        self,
        store: Store,
        board: LiveBoard,
        journal: Journal,
        connection: Connection,
        delivery: Delivery,
        waiters: Waiters,
        *,
        clock: Callable[[], Clock],
        time_tolerance_s: float,
    ) -> None:
        self.store = store
        self.board = board
        self.journal = journal
        self.connection = connection
        self.delivery = delivery
        self.waiters = waiters
        self._clock = clock
        self.time_tolerance_s = time_tolerance_s
        self.active_job: str | None = None
        self._controls: dict[str, JobControl] = {}

    def check_radio_free(self, job_id: str) -> None:
        """Refuse to touch the radio for ``job_id`` while another job runs on it."""
        if self.active_job and self.active_job != job_id:
            raise RunnerError(f"Job {self.active_job} is running on this radio; stop it first.")

    async def start(self, job_id: str, actor: str = "hht") -> None:
        """Start or resume ``job_id`` in the background."""
        job = repo.require_job(self.store.reader(), job_id)
        if self.active_job == job_id:
            raise RunnerError(f"Job {job_id} is already running.")
        if self.active_job is not None:
            raise RunnerError(f"Job {self.active_job} is running on this radio; wait or pause it.")
        if job["status"] in FINISHED_JOB_STATUSES:
            raise RunnerError(f"Job {job_id} is {job['status']}; it cannot be run again.")
        if self.connection.link is None or self.connection.job_id != job_id:
            raise RunnerError("Connect to the job's hub first.")
        use_cases = {c["use_case"] for c in repo.commands(self.store.reader(), job_id)}
        allowed, why = time_setting_allowed(
            self._clock().estimate(), use_cases, self.time_tolerance_s
        )
        if not allowed:
            await self.journal.record_async(job_id, "held", why, actor)
            raise RunnerError(why)
        control = JobControl()
        self._controls[job_id] = control
        self.active_job = job_id
        control.task = asyncio.create_task(self._run(job_id, actor, control))

    async def _run(self, job_id: str, actor: str, control: JobControl) -> None:
        try:
            await self.delivery.run(job_id, actor, control.pause)
        finally:
            if self.active_job == job_id:
                self.active_job = None

    async def pause(self, job_id: str, actor: str = "hht") -> None:
        control = self._controls.get(job_id)
        if self.active_job != job_id or control is None:
            raise RunnerError(f"Job {job_id} is not running.")
        control.pause.set()
        self.waiters.cancel_all()

    async def abort(self, job_id: str, reason: str, note: str, actor: str = "hht") -> None:
        job = repo.require_job(self.store.reader(), job_id)
        if job["status"] in FINISHED_JOB_STATUSES:
            raise RunnerError(f"Job {job_id} is already {job['status']}.")
        control = self._controls.get(job_id)
        if control and control.task and not control.task.done():
            control.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await control.task
        self.active_job = None if self.active_job == job_id else self.active_job
        await self.store.write_async(
            lambda db: self.journal.set_status(
                db,
                job_id,
                JobStatus.ABORTED,
                f"Aborted: {ABORT_REASONS.get(reason, reason)}" + (f" ({note})" if note else ""),
                actor,
                abort_reason=reason,
                abort_note=note,
                finished_at=utc_now(),
            )
        )
        if self.connection.job_id == job_id:
            await self.connection.disconnect()
        self.board.live(job_id).phase = "idle"
        self.board.publish_snapshot(self.store.reader(), job_id)

    async def wait(self, job_id: str) -> None:
        control = self._controls.get(job_id)
        if control and control.task:
            with contextlib.suppress(asyncio.CancelledError):
                await control.task

    async def resume_after_radio_returns(self) -> list[str]:
        """The stick is back: reconnect and resume every job its unplugging paused."""
        resumed = []
        for job in repo.paused_for(self.store.reader(), PauseReason.STICK_UNPLUGGED):
            hub = job["connected_hub_id"]
            if not hub or self.active_job is not None:
                continue
            try:
                await self.connection.connect(job["id"], hub, "hht", frozenset())
                await self.start(job["id"])
            except (RadioError, RunnerError) as exc:
                log.warning("job %s not resumed after the stick came back: %s", job["id"], exc)
                continue
            await self.journal.record_async(
                job["id"], "radio", "The radio stick is back; the job carries on"
            )
            resumed.append(job["id"])
        return resumed
