"""The link to a job's hub: choosing the device set, connecting, listening, losing it.

A job with several candidate device sets is fixed to the set for the hub it
connects to before anything goes on air.  Once connected, the responses the hub
held for the terminal are collected, then a listener stores everything that
arrives until the link closes.  A lost link wakes every waiting delivery with
the radio's error, and the error is kept so the job can say exactly why it
stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from webapp.clock import Clock
from webapp.jobs import repo
from webapp.jobs.captures import JobCaptures
from webapp.jobs.doorstep import window_closed_instruction
from webapp.jobs.errors import RunnerError
from webapp.jobs.journal import Journal
from webapp.jobs.live import LiveBoard
from webapp.jobs.matching import match_device_set
from webapp.jobs.receiver import Receiver
from webapp.jobs.states import PauseReason
from webapp.jobs.waiters import Waiters
from webapp.store.db import StorageFullError, Store
from webapp.zigbee.drivers.base import (
    STAGE_LABELS,
    ConnectStage,
    ErrorCode,
    HubLink,
    RadioDriver,
    RadioError,
)

log = logging.getLogger(__name__)

RECEIVE_POLL_SECONDS = 0.5
STORAGE_FULL_MESSAGE = (
    "The terminal's storage is full. The job is paused safely and nothing is lost: the hub "
    "keeps the answers until they are stored. Free space (ask your supervisor to unload and "
    "back up), then reconnect to the hub and resume."
)
LINK_DROPPED_MESSAGE = "The radio link to the hub dropped. Reconnect to the hub, then resume."


def pause_reason_for(exc: RadioError) -> PauseReason:
    """The pause code for a radio failure that stopped a job."""
    if exc.code is ErrorCode.STICK_UNPLUGGED:
        return PauseReason.STICK_UNPLUGGED
    return PauseReason.LINK_LOST


def stand_at_site(driver: RadioDriver, job: dict[str, Any]) -> None:
    """A simulated radio goes to the home of the job's hub (the first known candidate)."""
    for hub in reversed(job["candidate_hubs"]):
        driver.move_to(hub)


class Connection:
    """The one link this radio holds, the job it serves, and its listener."""

    def __init__(
        self,
        store: Store,
        driver: RadioDriver,
        board: LiveBoard,
        journal: Journal,
        receiver: Receiver,
        waiters: Waiters,
        *,
        clock: Callable[[], Clock],
        captures: JobCaptures | None = None,
    ) -> None:
        self.store = store
        self.driver = driver
        self.captures = captures or JobCaptures(None)
        self.board = board
        self.journal = journal
        self.receiver = receiver
        self.waiters = waiters
        self._clock = clock
        self.link: HubLink | None = None
        self.job_id: str | None = None
        self.lost: RadioError | None = None  # why the last link went, until the next connect
        self._listener: asyncio.Task | None = None

    # ------------------------------------------------------------- device set
    async def choose_device_set(
        self, job: dict[str, Any], hub_id: str, meters_seen: set[str], actor: str
    ) -> None:
        """Fix the job to the candidate set for ``hub_id``, or refuse to connect."""
        if job["device_set_id"]:
            if hub_id != job["expected_hub_id"].upper():
                raise RunnerError(
                    f"Hub {hub_id} is not this job's hub ({job['expected_hub_id']}). "
                    "Check the label on the hub."
                )
            return
        match = match_device_set(job["device_sets"], hub_id, meters_seen)
        if match.chosen is None:
            await self.journal.record_async(job["id"], "no-match", match.message, actor, hub=hub_id)
            raise RunnerError(match.message)
        quality = self.journal.time_quality()
        await self.store.write_async(
            lambda db: repo.choose_device_set(
                db, job["id"], match.chosen, actor, time_quality=quality
            )
        )

    # ---------------------------------------------------------------- connect
    async def connect(
        self, job_id: str, hub_id: str, actor: str, meters_seen: set[str] | frozenset[str]
    ) -> None:
        """Choose the device set, open the link, collect what the hub held, listen."""
        job = repo.require_job(self.store.reader(), job_id)
        hub_id = hub_id.strip().upper()
        await self.choose_device_set(job, hub_id, set(meters_seen), actor)
        job = repo.require_job(self.store.reader(), job_id)
        await self.disconnect()
        stand_at_site(self.driver, job)
        link = await self._open(job_id, hub_id, actor)
        await self._read_hub_time(job_id, link)
        await self.receiver.collect_held(job_id, link)
        self._listener = asyncio.create_task(self._listen(job_id, link))

    async def _open(self, job_id: str, hub_id: str, actor: str) -> HubLink:
        live = self.board.live(job_id)
        live.phase, live.instruction, live.connected_hub = "connecting", None, None
        self.board.publish_live(job_id)
        await self.journal.record_async(
            job_id, "connect", f"Connecting to hub {hub_id}", actor, hub=hub_id
        )
        started = time.monotonic()

        def on_stage(stage: ConnectStage) -> None:
            live.stage, live.stage_label = stage.value, STAGE_LABELS[stage]
            self.board.publish_live(job_id)

        self.captures.begin(self.driver, job_id, f"connection to hub {hub_id}")
        try:
            link = await self.driver.connect(hub_id, on_stage)
        except RadioError as exc:
            self.captures.end(self.driver)
            failure = self._for_this_home(job_id, exc)
            live.phase, live.stage, live.stage_label = "idle", None, None
            live.instruction = failure.instruction
            self.board.publish_live(job_id)
            await self.journal.record_async(
                job_id, "connect-failed", failure.instruction, actor, code=exc.code.value
            )
            if failure is exc:
                raise
            raise failure from exc
        self.link, self.job_id, self.lost = link, job_id, None
        live.phase, live.connected_hub = "connected", hub_id
        await self.store.write_async(
            lambda db: db["jobs"].update(job_id, {"connected_hub_id": hub_id})
        )
        await self.journal.record_async(
            job_id,
            "connected",
            f"Connected to hub {hub_id} in {time.monotonic() - started:.1f} s",
            actor,
            hub=hub_id,
        )
        self.board.publish_live(job_id)
        return link

    def _for_this_home(self, job_id: str, exc: RadioError) -> RadioError:
        """A closed window at an installed home (a maintenance visit) calls for the
        meter's installer menu, not power-cycling: the same code, the home's instruction."""
        if exc.code is not ErrorCode.WINDOW_CLOSED:
            return exc
        job = repo.get_job(self.store.reader(), job_id) or {}
        instruction = window_closed_instruction(job)
        if instruction is None:
            return exc
        return RadioError(exc.code, exc.detail, instruction=instruction)

    async def _read_hub_time(self, job_id: str, link: HubLink) -> None:
        hub_time = await link.hub_time()
        clock = self._clock()
        if hub_time is not None and clock.offer_hub_time(*hub_time) is not None:
            await self.journal.record_async(
                job_id, "clock", f"Hub time read: {clock.estimate().label}"
            )

    async def disconnect(self) -> None:
        if self._listener:
            self._listener.cancel()
            self._listener = None
        if self.link:
            with contextlib.suppress(RadioError):
                await self.link.close()
        if self.job_id:
            live = self.board.live(self.job_id)
            live.phase, live.connected_hub = "idle", None
        self.captures.end(self.driver)
        self.link, self.job_id = None, None

    # ----------------------------------------------------------------- listen
    async def _listen(self, job_id: str, link: HubLink) -> None:
        while link.is_open:
            try:
                raw = await link.receive(RECEIVE_POLL_SECONDS)
            except RadioError as exc:
                self.link_lost(job_id, exc)
                return
            if raw is None:
                continue
            try:
                await self.receiver.accept(raw, job_id)
            except StorageFullError as exc:
                self._storage_full(job_id, exc)
                return
        if self.link is link:  # the link went down under us, not closed by us
            code = ErrorCode.LINK_LOST if self.driver.available else ErrorCode.STICK_UNPLUGGED
            self.link_lost(job_id, RadioError(code, f"the link to hub {link.hub_id} closed"))

    def _storage_full(self, job_id: str, exc: StorageFullError) -> None:
        """Stop receiving: unstored answers stay at the hub (unacknowledged) until resume."""
        log.error("storage full during job %s: %s", job_id, exc)
        self.waiters.fail_all(exc)
        self.board.live(job_id).instruction = STORAGE_FULL_MESSAGE
        self.board.publish_live(job_id)

    def link_lost(self, job_id: str, exc: RadioError) -> None:
        """The link is gone: wake every waiting delivery with ``exc`` and say so."""
        log.warning("link lost during job %s: %s", job_id, exc)
        self.waiters.fail_all(exc)
        live = self.board.live(job_id)
        live.phase, live.connected_hub, live.instruction = "idle", None, exc.instruction
        self.link, self.job_id, self.lost = None, None, exc
        self.board.publish_live(job_id)
