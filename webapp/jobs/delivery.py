"""Delivering a job's commands, in order, exactly once.

The command life cycle (README, "How nothing is lost or done twice") is kept by
committing before acting.  Each send of a command goes through the same steps,
each ending at a named checkpoint (:mod:`webapp.faults`):

1. *intent*: state ``sending`` and attempt n are committed (``intent-committed``);
2. *radio*: the bytes are handed to the hub (``sent``);
3. *delivered*: ``delivered`` is committed, unless the answer already is
   (``delivered-committed``, passed on every send either way);
4. *answer*: the answer is awaited; the incoming path commits it first.

A retry (no answer in time) resends exactly the same bytes: the device's replay
protection turns a second delivery into a rejection, never a second execution.

Every commit is awaited (:meth:`Store.write_async`): the loop that owns the radio
never waits for the store's writer, so nothing a page does (loading a pack, say)
holds up a send, an answer or the watchdog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from webapp.faults import checkpoint
from webapp.jobs import repo
from webapp.jobs.connect import (
    LINK_DROPPED_MESSAGE,
    STORAGE_FULL_MESSAGE,
    Connection,
    pause_reason_for,
)
from webapp.jobs.errors import JobInterrupted
from webapp.jobs.journal import Journal
from webapp.jobs.live import LiveBoard
from webapp.jobs.states import (
    DONE_STATES,
    GOOD_STATES,
    IN_FLIGHT_STATES,
    CommandState,
    JobStatus,
    PauseReason,
    device_name,
    sql_in,
)
from webapp.jobs.waiters import Waiters
from webapp.store.clock import utc_now
from webapp.store.db import StorageFullError, Store
from webapp.zigbee.drivers.base import HubLink, RadioError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # sends of one command per run (a resume allows as many again)
RESPONSE_TIMEOUT_SECONDS = 30.0  # mains-powered devices and the hub
GSME_RESPONSE_TIMEOUT_SECONDS = 35 * 60.0  # the gas meter wakes at least every 30 minutes
DEFAULT_COMMAND_SECONDS = 3.0  # ETA estimate before any command has been timed
SLEEPY_ROLES = frozenset({"gsme"})
PAUSED_MESSAGE = "Paused by the installer. Resume when ready."
INTERNAL_ERROR_MESSAGE = "Stopped on an internal error; see the log."
# A gas meter that has just answered stays awake a little while for what the hub's gas proxy
# holds for it: the next command goes without asking for its button, unless no answer comes
# within this grace (the shortest wake a gas meter is modelled with).
GSME_AWAKE_GRACE_SECONDS = 10.0
GSME_WAKE_PROMPT = "The gas meter is asleep. Press the button on the gas meter to wake it."


@dataclass
class _Send:
    """One command on its way: the row as last stored, and what its sends have cost."""

    job_id: str
    cmd: dict[str, Any]
    sleepy: bool
    timeout: float  # seconds to wait for an answer to one send
    started: float  # time.monotonic() at the first send
    sends: int = 0

    @property
    def command_id(self) -> int:
        return int(self.cmd["id"])


class Delivery:
    """Runs a job's service requests and delivers each command."""

    def __init__(
        self,
        store: Store,
        board: LiveBoard,
        journal: Journal,
        connection: Connection,
        waiters: Waiters,
        *,
        time_scale: float = 1.0,
    ) -> None:
        self.store = store
        self.board = board
        self.journal = journal
        self.connection = connection
        self.waiters = waiters
        self.time_scale = time_scale
        self._durations: dict[str, list[float]] = {}
        self._gas_meter_answered: dict[str, float] = {}  # job -> monotonic time

    def _scaled(self, seconds: float) -> float:
        return seconds / self.time_scale

    # -------------------------------------------------------------------- job
    async def run(self, job_id: str, actor: str, pause: asyncio.Event) -> None:
        """Run (or resume) the job to its end or to a resumable stop."""
        try:
            await self._mark_running(job_id, actor)
            await self._run_service_requests(job_id, pause)
        except JobInterrupted as exc:
            await self.pause_safely(job_id, exc.message, exc.reason)
        except StorageFullError:
            # the link goes too: a new one offers every answer the hub still holds
            await self.connection.disconnect()
            await self.pause_safely(job_id, STORAGE_FULL_MESSAGE, PauseReason.STORAGE_FULL)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s stopped on an unexpected error", job_id)
            await self.pause_safely(job_id, INTERNAL_ERROR_MESSAGE, PauseReason.INTERNAL_ERROR)
        finally:
            self.waiters.clear()
        self.board.publish_snapshot(self.store.reader(), job_id)

    async def _mark_running(self, job_id: str, actor: str) -> None:
        def mark(db: Database) -> None:
            job = repo.require_job(db, job_id)
            fields = {} if job["started_at"] else {"started_at": utc_now()}
            verb = "Resumed" if job["status"] == JobStatus.PAUSED else "Started"
            self.journal.set_status(db, job_id, JobStatus.RUNNING, f"{verb} job", actor, **fields)

        await self.store.write_async(mark)
        live = self.board.live(job_id)
        live.phase, live.instruction = "running", None
        self.board.publish_snapshot(self.store.reader(), job_id)

    async def pause_safely(self, job_id: str, message: str, reason: PauseReason) -> None:
        """Record the pause if the disk lets us; the page is told either way. A job whose
        pause could not be written is paused at the next start-up (pause_interrupted_jobs)."""
        with contextlib.suppress(StorageFullError):
            await self.store.write_async(
                lambda db: self.journal.set_status(
                    db, job_id, JobStatus.PAUSED, message, reason=reason
                )
            )
        live = self.board.live(job_id)
        live.phase = "connected" if self.connection.link else "idle"
        live.stop_waiting()
        live.instruction = message

    async def _run_service_requests(self, job_id: str, pause: asyncio.Event) -> None:
        reader = self.store.reader()
        all_commands = repo.commands(reader, job_id)
        for sr in repo.service_requests(reader, job_id):
            sr_commands = [c for c in all_commands if c["service_request_id"] == sr["id"]]
            await self._run_service_request(job_id, sr, sr_commands, pause)
        await self._finish(job_id)

    async def _finish(self, job_id: str) -> None:
        final = repo.commands(self.store.reader(), job_id)
        ok = all(CommandState(c["state"]) in GOOD_STATES for c in final)
        status = JobStatus.COMPLETED if ok else JobStatus.FAILED
        message = (
            "Every command answered"
            if ok
            else "Finished; some service requests failed (see the commands marked)"
        )
        await self.store.write_async(
            lambda db: self.journal.set_status(db, job_id, status, message, finished_at=utc_now())
        )
        live = self.board.live(job_id)
        live.phase = "connected" if self.connection.link else "idle"
        live.stop_waiting()
        live.eta_ms = None

    async def _run_service_request(
        self,
        job_id: str,
        sr: dict[str, Any],
        commands: list[dict[str, Any]],
        pause: asyncio.Event,
    ) -> None:
        """Commands in order; the first that fails stops the rest of this request."""
        failed_at: dict[str, Any] | None = None
        for cmd in commands:
            cmd = repo.get_command(self.store.reader(), cmd["id"])
            state = CommandState(cmd["state"])
            if failed_at is not None:
                if state not in DONE_STATES:
                    await self._set_command(
                        cmd["id"],
                        state=CommandState.SKIPPED.value,
                        last_error=f"Not sent: command {failed_at['seq']} failed",
                    )
                continue
            if state not in DONE_STATES:
                state = await self.deliver(job_id, cmd, pause)
            if state not in GOOD_STATES:
                failed_at = cmd
        sr_state = "failed" if failed_at else "done"
        await self.store.write_async(
            lambda db: db["service_requests"].update(sr["id"], {"state": sr_state})
        )

    # ---------------------------------------------------------------- command
    async def deliver(self, job_id: str, cmd: dict[str, Any], pause: asyncio.Event) -> CommandState:
        """Send one command until it is settled or the job must stop."""
        send = await self._begin(job_id, cmd)
        while True:
            link = await self._may_send(send, pause)
            answer = self.waiters.expect(send.command_id)
            try:
                await self._commit_intent(send)
                await self._hand_to_radio(send, link)
                await self._commit_delivered(send)
                state = await self._await_answer(send, answer, pause)
            finally:
                self.waiters.drop(send.command_id)
            if state is not None:
                self._settled(send)
                return state

    async def _begin(self, job_id: str, cmd: dict[str, Any]) -> _Send:
        sleepy = cmd["device_role"] in SLEEPY_ROLES
        timeout = GSME_RESPONSE_TIMEOUT_SECONDS if sleepy else RESPONSE_TIMEOUT_SECONDS
        if CommandState(cmd["state"]) in IN_FLIGHT_STATES:
            await self.journal.record_async(
                job_id,
                "resume",
                f"Command {cmd['seq']} ({cmd['use_case']}) was in flight; resending the same "
                "bytes (the device rejects it if it already ran)",
                command_id=cmd["id"],
            )
        return _Send(job_id, cmd, sleepy, self._scaled(timeout), time.monotonic())

    async def _may_send(self, send: _Send, pause: asyncio.Event) -> HubLink:
        """The link to send on, or why the job stops before this send."""
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # Cancelled (an abort) while an answer arrived: asyncio.wait_for then returns the
            # answer and swallows the cancellation. Nothing more is sent after an abort.
            raise asyncio.CancelledError
        if pause.is_set():
            raise JobInterrupted(PAUSED_MESSAGE, PauseReason.INSTALLER)
        link = self.connection.link
        if link is None:
            lost = self.connection.lost
            if lost is not None:
                raise JobInterrupted(lost.instruction, pause_reason_for(lost))
            raise JobInterrupted(LINK_DROPPED_MESSAGE, PauseReason.LINK_LOST)
        if send.sends >= MAX_ATTEMPTS:
            cmd = send.cmd
            await self._set_command(
                send.command_id,
                state=CommandState.TIMED_OUT.value,
                last_error=f"No answer after {send.sends} tries",
            )
            who = device_name(cmd["device_role"]).lower()
            raise JobInterrupted(
                f"The {who} did not answer command {cmd['seq']} after {send.sends} "
                "tries. Check it has power and is near the hub, then resume.",
                PauseReason.NO_ANSWER,
            )
        return link

    async def _commit_intent(self, send: _Send) -> None:
        """Step 1: commit that attempt n is about to go out."""
        send.sends += 1
        send.cmd = await self._set_command(
            send.command_id,
            state=CommandState.SENDING.value,
            attempts=send.cmd["attempts"] + 1,
            sent_at=utc_now(),
            last_error=None,
        )
        live = self.board.live(send.job_id)
        live.phase, live.waiting_for, live.action = "running", None, None
        live.eta_ms = self._eta_ms(send.job_id)
        self.board.publish_live(send.job_id)
        checkpoint("intent-committed")

    async def _hand_to_radio(self, send: _Send, link: HubLink) -> None:
        """Step 2: give the bytes to the hub; a radio failure stops the job here."""
        try:
            await link.put(send.cmd["raw"])
        except RadioError as exc:
            await self._set_command(send.command_id, last_error=exc.instruction)
            self.connection.link_lost(send.job_id, exc)
            raise JobInterrupted(exc.instruction, pause_reason_for(exc)) from exc
        checkpoint("sent")

    async def _commit_delivered(self, send: _Send) -> None:
        """Step 3: commit ``delivered``, unless the answer came in first and is stored."""

        def commit(db: Database) -> tuple[dict[str, Any], bool]:
            cmd = repo.get_command(db, send.command_id)
            if cmd["state"] != CommandState.SENDING.value:
                return cmd, False
            delivered = CommandState.DELIVERED.value
            return repo.update_command(db, send.command_id, state=delivered), True

        cmd, changed = await self.store.write_async(commit)
        send.cmd = cmd
        if changed:
            self.board.publish_command(cmd, self.store.reader())
        checkpoint("delivered-committed")

    async def _await_answer(
        self, send: _Send, answer: asyncio.Future[str], pause: asyncio.Event
    ) -> CommandState | None:
        """Step 4: the settled state, or None when no answer came in time.

        A gas meter that answered a moment ago is still awake: the installer is not asked
        to press its button unless no answer comes within a short grace."""
        awake = send.sleepy and self._gas_meter_awake(send.job_id)
        grace = min(self._scaled(GSME_AWAKE_GRACE_SECONDS), send.timeout) if awake else 0.0
        self._show_waiting(send, prompt=not awake)
        try:
            try:
                state = await asyncio.wait_for(asyncio.shield(answer), grace or send.timeout)
            except TimeoutError:
                if not grace:
                    raise
                self._show_waiting(send, prompt=True, keep_deadline=True)
                state = await asyncio.wait_for(asyncio.shield(answer), send.timeout - grace)
        except TimeoutError:
            return await self._no_answer(send)
        except asyncio.CancelledError:
            if pause.is_set():
                raise JobInterrupted(PAUSED_MESSAGE, PauseReason.INSTALLER) from None
            raise
        except RadioError as exc:
            raise JobInterrupted(exc.instruction, pause_reason_for(exc)) from exc
        return CommandState(state)

    def _show_waiting(self, send: _Send, *, prompt: bool, keep_deadline: bool = False) -> None:
        live = self.board.live(send.job_id)
        live.phase = "waiting"
        if not (keep_deadline and live.deadline_ms):
            live.deadline_ms = int((time.time() + send.timeout) * 1000)
        if send.sleepy and prompt:
            live.waiting_for, live.action = GSME_WAKE_PROMPT, "wake-gsme"
        else:
            name = device_name(send.cmd["device_role"]).lower()
            live.waiting_for, live.action = f"Waiting for the {name} to answer", None
        self.board.publish_live(send.job_id)

    def _gas_meter_awake(self, job_id: str) -> bool:
        """Whether the job's gas meter answered within the last grace period."""
        last = self._gas_meter_answered.get(job_id)
        return last is not None and time.monotonic() - last < self._scaled(GSME_AWAKE_GRACE_SECONDS)

    async def _no_answer(self, send: _Send) -> CommandState | None:
        """A send timed out: the state if an answer was stored meanwhile, else None."""
        cmd = send.cmd
        await self.journal.record_async(
            send.job_id,
            "timeout",
            f"No answer to command {cmd['seq']} ({cmd['use_case']}), attempt {cmd['attempts']}",
            command_id=cmd["id"],
        )
        send.cmd = repo.get_command(self.store.reader(), send.command_id)
        state = CommandState(send.cmd["state"])
        return state if state in DONE_STATES else None

    def _settled(self, send: _Send) -> None:
        self.board.live(send.job_id).stop_waiting()
        if send.sleepy:
            self._gas_meter_answered[send.job_id] = time.monotonic()
        self._durations.setdefault(send.job_id, []).append(time.monotonic() - send.started)

    # ---------------------------------------------------------------- helpers
    async def _set_command(self, command_id: int, **fields: Any) -> dict[str, Any]:
        cmd = await self.store.write_async(lambda db: repo.update_command(db, command_id, **fields))
        self.board.publish_command(cmd, self.store.reader())
        return cmd

    def _eta_ms(self, job_id: str) -> int:
        """When the job should end: the mean time per command so far, times those left."""
        durations = self._durations.get(job_id) or []
        per = (
            sum(durations) / len(durations) if durations else self._scaled(DEFAULT_COMMAND_SECONDS)
        )
        done_in, done = sql_in(DONE_STATES)
        remaining = (
            self.store.reader()
            .execute(
                f"SELECT count(*) FROM commands WHERE job_id = ? AND state NOT IN {done_in}",
                [job_id, *done],
            )
            .fetchone()[0]
        )
        return int((time.time() + per * remaining) * 1000)
