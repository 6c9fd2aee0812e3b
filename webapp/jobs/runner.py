"""The runner: delivers a job's commands to the devices, in order, exactly once.

It lives on the asyncio loop that owns the radio.  The command life cycle
(DESIGN.md) is kept by committing before acting:

* intent (state ``sending``, attempt n) is committed before the bytes go out;
* a response is committed (and only then acknowledged to the hub) before
  anything else happens with it;
* a retry resends exactly the same bytes; the device's replay protection
  turns a second delivery into a rejection, never a second execution;
* after a crash or a lost link, the responses the hub holds for the HHT are
  collected first, and an in-flight command is then resent: the device either
  executes it (it never had it) or rejects it as a repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from webapp.clock import Clock, time_setting_allowed
from webapp.clock.device_time import reported_device_time
from webapp.clock.estimate import DEFAULT_TOLERANCE_S, TIME_SETTING_USE_CASES
from webapp.faults import checkpoint
from webapp.jobs import incoming, repo
from webapp.jobs.matching import match_device_set
from webapp.jobs.states import (
    DONE_STATES,
    GOOD_STATES,
    IN_FLIGHT_STATES,
    CommandState,
    JobStatus,
)
from webapp.store import events
from webapp.store.clock import utc_now
from webapp.store.db import StorageFullError, Store
from webapp.store.events import append_event
from webapp.zigbee.drivers.base import (
    INSTRUCTIONS,
    STAGE_LABELS,
    ConnectStage,
    ErrorCode,
    HubLink,
    RadioDriver,
    RadioError,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # sends of one command per run (a resume allows as many again)
RESPONSE_TIMEOUT_SECONDS = 30.0  # mains-powered devices and the hub
GSME_RESPONSE_TIMEOUT_SECONDS = 35 * 60.0  # the gas meter wakes at least every 30 minutes
RECEIVE_POLL_SECONDS = 0.5
STORAGE_FULL_MESSAGE = (
    "The terminal's storage is full. The job is paused safely and nothing is lost: the hub "
    "keeps the answers until they are stored. Free space (ask your supervisor to unload and "
    "back up), then reconnect to the hub and resume."
)
DEFAULT_COMMAND_SECONDS = 3.0  # ETA estimate before any command has been timed
SLEEPY_ROLES = frozenset({"gsme"})

Publisher = Callable[[str, dict[str, Any]], None]


class RunnerError(Exception):
    """A request the runner refuses, with a message for the person who asked."""


class JobInterrupted(Exception):
    """The job stopped at a resumable point (pause, lost link, no answer)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class LiveState:
    """What is happening right now, beyond what the database says."""

    phase: str = "idle"  # idle | scanning | connecting | connected | running | waiting
    stage: str | None = None
    stage_label: str | None = None
    waiting_for: str | None = None
    action: str | None = None  # a button the page may offer, e.g. "wake-gsme"
    deadline_ms: int | None = None  # absolute time, epoch milliseconds
    eta_ms: int | None = None
    connected_hub: str | None = None
    instruction: str | None = None  # plain words after a failure

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class _JobControl:
    pause: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None


class Runner:
    """One radio, one job at a time."""

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
    ) -> None:
        self.store = store
        self.driver = driver
        self._publish = publish or (lambda job_id, msg: None)
        self.time_scale = time_scale
        self.certificates = certificates
        self.clock = clock or Clock()
        self.time_tolerance_s = time_tolerance_s
        # every event this terminal writes is stamped with its clock's quality
        events.time_quality = self._time_quality
        self.link: HubLink | None = None
        self.link_job: str | None = None
        self.active_job: str | None = None
        self._controls: dict[str, _JobControl] = {}
        self._live: dict[str, LiveState] = {}
        self._waiters: dict[int, asyncio.Future[str]] = {}
        self._receiver: asyncio.Task | None = None
        self._durations: dict[str, list[float]] = {}

    # ------------------------------------------------------------------ helpers
    def _time_quality(self) -> tuple[str, float | None, float]:
        estimate = self.clock.estimate()
        uncertainty = None if estimate.uncertainty_s == float("inf") else estimate.uncertainty_s
        return estimate.source.value, uncertainty, estimate.offset_s

    def live(self, job_id: str) -> LiveState:
        return self._live.setdefault(job_id, LiveState())

    def _scaled(self, seconds: float) -> float:
        return seconds / self.time_scale

    def publish(self, job_id: str, kind: str, **payload: Any) -> None:
        try:
            self._publish(job_id, {"type": kind, **payload})
        except Exception:  # a page that cannot be told must not stop the job
            log.exception("publishing %s for job %s failed", kind, job_id)

    def publish_live(self, job_id: str) -> None:
        self.publish(job_id, "live", live=self.live(job_id).to_dict())

    def _event(self, job_id: str, kind: str, message: str, actor: str = "hht", **data: Any) -> None:
        with self.store.write() as db:
            event = append_event(db, job_id, kind, message, data, actor)
        self.publish(job_id, "event", event={k: event[k] for k in ("id", "at", "kind", "message")})

    def note(self, job_id: str, kind: str, message: str, actor: str = "hht") -> None:
        """Record something that happened outside the runner (thread-safe)."""
        self._event(job_id, kind, message, actor)

    def snapshot(self, job_id: str) -> dict[str, Any]:
        return repo.job_snapshot(self.store.reader(), job_id, self.live(job_id).to_dict())

    # --------------------------------------------------------------------- scan
    async def scan(self, job_id: str) -> list[dict[str, Any]]:
        """Beacons heard, the job's expected hub first, others flagged."""
        job = repo.require_job(self.store.reader(), job_id)
        live = self.live(job_id)
        live.phase, live.instruction = "scanning", None
        self.publish_live(job_id)
        self._stand_at_site(job)
        try:
            beacons = await self.driver.active_scan()
        finally:
            live.phase = "connected" if self.link_job == job_id and self.link else "idle"
            self.publish_live(job_id)
        known_hubs = {
            row[0]
            for row in self.store.reader().execute(
                "SELECT DISTINCT d.hub_id FROM device_sets d JOIN jobs j ON j.id = d.job_id "
                "WHERE j.status IN ('ready', 'running', 'paused')"
            )
        }
        expected = {h.upper() for h in job["candidate_hubs"]}
        out = []
        for b in beacons:
            d = b.to_dict()
            ext = b.extended_pan_id.upper()
            d["expected"] = ext in expected
            if d["expected"]:
                d["flag"] = "expected"
            elif ext in known_hubs:
                d["flag"] = "other-job"
            elif b.permit_join or b.interpan_open:
                d["flag"] = "neighbour"
            else:
                d["flag"] = "unknown"
            d["supported"] = b.band in self.driver.info.bands
            out.append(d)
        # several beacons claiming one expected hub id are suspicious: flag all but strongest
        for hub in expected:
            claims = [d for d in out if d["expected"] and d["extended_pan_id"].upper() == hub]
            for extra in sorted(claims, key=lambda d: -d["lqi"])[1:]:
                extra["expected"], extra["flag"] = False, "spoof"
        out.sort(key=lambda d: (not d["expected"], -d["lqi"]))
        self._event(
            job_id,
            "scan",
            f"Scan heard {len(out)} networks",
            heard=len(out),
            hubs=[{"hub": d["extended_pan_id"], "flag": d["flag"], "lqi": d["lqi"]} for d in out],
        )
        return out

    # ------------------------------------------------------------------ connect
    def _stand_at_site(self, job: dict[str, Any]) -> None:
        """A simulated radio goes to the home of the job's hub (the first known candidate)."""
        for hub in reversed(job["candidate_hubs"]):
            self.driver.move_to(hub)

    def _choose_device_set(
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
            self._event(job["id"], "no-match", match.message, actor, hub=hub_id)
            raise RunnerError(match.message)
        with self.store.write() as db:
            repo.choose_device_set(db, job["id"], match.chosen, actor)

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
        if self.active_job and self.active_job != job_id:
            raise RunnerError(f"Job {self.active_job} is running on this radio; stop it first.")
        job = repo.require_job(self.store.reader(), job_id)
        hub_id = hub_id.strip().upper()
        self._choose_device_set(job, hub_id, set(meters_seen), actor)
        job = repo.require_job(self.store.reader(), job_id)
        await self.disconnect()
        self._stand_at_site(job)
        live = self.live(job_id)
        live.phase, live.instruction, live.connected_hub = "connecting", None, None
        self.publish_live(job_id)
        self._event(job_id, "connect", f"Connecting to hub {hub_id}", actor, hub=hub_id)
        started = time.monotonic()

        def on_stage(stage: ConnectStage) -> None:
            live.stage, live.stage_label = stage.value, STAGE_LABELS[stage]
            self.publish_live(job_id)

        try:
            link = await self.driver.connect(hub_id, on_stage)
        except RadioError as exc:
            live.phase, live.stage, live.stage_label = "idle", None, None
            live.instruction = exc.instruction
            self.publish_live(job_id)
            self._event(job_id, "connect-failed", exc.instruction, actor, code=exc.code.value)
            raise
        self.link, self.link_job = link, job_id
        live.phase, live.connected_hub = "connected", hub_id
        with self.store.write() as db:
            db["jobs"].update(job_id, {"connected_hub_id": hub_id})
        self._event(
            job_id,
            "connected",
            f"Connected to hub {hub_id} in {time.monotonic() - started:.1f} s",
            actor,
            hub=hub_id,
        )
        self.publish_live(job_id)
        hub_time = await link.hub_time()
        if hub_time is not None and self.clock.offer_hub_time(*hub_time) is not None:
            self._event(job_id, "clock", f"Hub time read: {self.clock.estimate().label}")
        await self._collect_held(job_id)
        self._receiver = asyncio.create_task(self._receive_loop(job_id, link))

    async def disconnect(self) -> None:
        if self._receiver:
            self._receiver.cancel()
            self._receiver = None
        if self.link:
            with contextlib.suppress(RadioError):
                await self.link.close()
        if self.link_job:
            live = self.live(self.link_job)
            live.phase, live.connected_hub = "idle", None
        self.link, self.link_job = None, None

    # ------------------------------------------------------------ incoming path
    async def _collect_held(self, job_id: str) -> None:
        """GB-HRGP GET: store whatever the hub held for the HHT while we were away."""
        assert self.link is not None
        held = await self.link.get()
        for raw in held:
            await self._accept(raw, job_id)
        if held:
            self._event(job_id, "collected", f"Collected {len(held)} held messages from the hub")

    async def _receive_loop(self, job_id: str, link: HubLink) -> None:
        while link.is_open:
            try:
                raw = await link.receive(RECEIVE_POLL_SECONDS)
            except RadioError as exc:
                self._link_lost(job_id, exc)
                return
            if raw is not None:
                try:
                    await self._accept(raw, job_id)
                except StorageFullError as exc:
                    self._storage_full(job_id, exc)
                    return
        if self.link is link:  # the link went down under us, not closed by us
            code = ErrorCode.LINK_LOST if self.driver.available else ErrorCode.STICK_UNPLUGGED
            self._link_lost(job_id, RadioError(code, f"the link to hub {link.hub_id} closed"))

    def _storage_full(self, job_id: str, exc: StorageFullError) -> None:
        """Stop receiving: unstored answers stay at the hub (unacknowledged) until resume."""
        log.error("storage full during job %s: %s", job_id, exc)
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(exc)
        self.live(job_id).instruction = STORAGE_FULL_MESSAGE
        self.publish_live(job_id)

    def _link_lost(self, job_id: str, exc: RadioError) -> None:
        log.warning("link lost during job %s: %s", job_id, exc)
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(exc)
        live = self.live(job_id)
        live.phase, live.connected_hub, live.instruction = "idle", None, exc.instruction
        self.link, self.link_job = None, None
        self.publish_live(job_id)

    async def _accept(self, raw: bytes, job_id: str) -> None:
        """Commit one incoming message, acknowledge it to the hub, then act on it."""
        checkpoint("response-received")
        event = None
        with self.store.write() as db:
            result = incoming.store_message(
                db, raw, route="hht", job_id=job_id, certificates=self.certificates
            )
            if result.new:
                cmd = result.command
                event = append_event(
                    db,
                    cmd["job_id"] if cmd else job_id,
                    "response" if cmd else result.event_kind,
                    result.summary,
                    {"command_id": cmd["id"]} if cmd else {"response_id": result.response_id},
                )
        checkpoint("response-committed")
        if self.link is not None:
            await self.link.ack(raw)
            checkpoint("response-acked")
        if event is not None:
            self.publish(
                event["job_id"],
                "event",
                event={k: event[k] for k in ("id", "at", "kind", "message")},
            )
        if result.command is not None:
            cmd = result.command
            if result.new and cmd["use_case"] in TIME_SETTING_USE_CASES:
                self._compare_device_time(cmd, raw)
            self.publish(cmd["job_id"], "command", command=repo.command_view(cmd))
            fut = self._waiters.get(cmd["id"])
            if fut is not None and not fut.done():
                fut.set_result(cmd["state"])

    def _compare_device_time(self, cmd: dict[str, Any], raw: bytes) -> None:
        """After a clock-setting command: how far is the device's time from ours?"""
        device_time = reported_device_time(raw)
        if device_time is None:
            return
        estimate = self.clock.estimate()
        difference = device_time - estimate.now
        self._event(
            cmd["job_id"],
            "clock-check",
            f"{cmd['device_role'].upper()} time after {cmd['use_case']} differs from the "
            f"terminal's by {difference:+.1f} s (terminal's time ±"
            f"{estimate.uncertainty_s:.1f} s, from the {estimate.source.value} clock)",
            command_id=cmd["id"],
            difference_s=round(difference, 3),
        )

    # ------------------------------------------------------------------ control
    async def start(self, job_id: str, actor: str = "hht") -> None:
        """Start or resume ``job_id`` in the background."""
        job = repo.require_job(self.store.reader(), job_id)
        if self.active_job == job_id:
            raise RunnerError(f"Job {job_id} is already running.")
        if self.active_job is not None:
            raise RunnerError(f"Job {self.active_job} is running on this radio; wait or pause it.")
        if job["status"] in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.ABORTED):
            raise RunnerError(f"Job {job_id} is {job['status']}; it cannot be run again.")
        if self.link is None or self.link_job != job_id:
            raise RunnerError("Connect to the job's hub first.")
        use_cases = {c["use_case"] for c in repo.commands(self.store.reader(), job_id)}
        allowed, why = time_setting_allowed(self.clock.estimate(), use_cases, self.time_tolerance_s)
        if not allowed:
            self._event(job_id, "held", why, actor)
            raise RunnerError(why)
        control = _JobControl()
        self._controls[job_id] = control
        self.active_job = job_id
        control.task = asyncio.create_task(self._run(job_id, actor))

    async def pause(self, job_id: str, actor: str = "hht") -> None:
        control = self._controls.get(job_id)
        if self.active_job != job_id or control is None:
            raise RunnerError(f"Job {job_id} is not running.")
        control.pause.set()
        for fut in self._waiters.values():
            if not fut.done():
                fut.cancel()

    async def abort(self, job_id: str, reason: str, note: str, actor: str = "hht") -> None:
        job = repo.require_job(self.store.reader(), job_id)
        if job["status"] in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.ABORTED):
            raise RunnerError(f"Job {job_id} is already {job['status']}.")
        control = self._controls.get(job_id)
        if control and control.task and not control.task.done():
            control.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await control.task
        self.active_job = None if self.active_job == job_id else self.active_job
        with self.store.write() as db:
            repo.set_job_status(
                db,
                job_id,
                JobStatus.ABORTED,
                f"Aborted: {reason}" + (f" ({note})" if note else ""),
                actor,
                abort_reason=reason,
                abort_note=note,
                finished_at=utc_now(),
            )
        if self.link_job == job_id:
            await self.disconnect()
        self.live(job_id).phase = "idle"
        self.publish(job_id, "snapshot", snapshot=self.snapshot(job_id))

    async def resume_after_radio_returns(self) -> list[str]:
        """The stick is back: reconnect and resume every job its unplugging paused."""
        unplugged = INSTRUCTIONS[ErrorCode.STICK_UNPLUGGED]
        resumed = []
        for job in self.store.reader()["jobs"].rows_where(
            "status = ? AND status_message = ?", [JobStatus.PAUSED.value, unplugged]
        ):
            hub = job["connected_hub_id"]
            if not hub or self.active_job is not None:
                continue
            try:
                await self.connect(job["id"], hub)
                await self.start(job["id"])
            except (RadioError, RunnerError) as exc:
                log.warning("job %s not resumed after the stick came back: %s", job["id"], exc)
                continue
            self._event(job["id"], "radio", "The radio stick is back; the job carries on")
            resumed.append(job["id"])
        return resumed

    def _drop_waiter(self, command_id: int) -> None:
        """Forget the future waiting for ``command_id``'s answer, reading any error set on
        it (so it is not reported later as never retrieved)."""
        fut = self._waiters.pop(command_id, None)
        if fut is not None and fut.done() and not fut.cancelled():
            fut.exception()

    async def wait(self, job_id: str) -> None:
        control = self._controls.get(job_id)
        if control and control.task:
            with contextlib.suppress(asyncio.CancelledError):
                await control.task

    # ---------------------------------------------------------------- delivery
    async def _run(self, job_id: str, actor: str) -> None:
        live = self.live(job_id)
        try:
            with self.store.write() as db:
                job = repo.require_job(db, job_id)
                fields = {} if job["started_at"] else {"started_at": utc_now()}
                verb = "Resumed" if job["status"] == JobStatus.PAUSED else "Started"
                repo.set_job_status(db, job_id, JobStatus.RUNNING, f"{verb} job", actor, **fields)
            live.phase, live.instruction = "running", None
            self.publish(job_id, "snapshot", snapshot=self.snapshot(job_id))
            await self._run_service_requests(job_id)
        except JobInterrupted as exc:
            self._pause_safely(job_id, exc.message)
        except StorageFullError:
            # the link goes too: a new one offers every answer the hub still holds
            await self.disconnect()
            self._pause_safely(job_id, STORAGE_FULL_MESSAGE)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s stopped on an unexpected error", job_id)
            self._pause_safely(job_id, "Stopped on an internal error; see the log.")
        finally:
            if self.active_job == job_id:
                self.active_job = None
            self._waiters.clear()
        self.publish(job_id, "snapshot", snapshot=self.snapshot(job_id))

    def _pause_safely(self, job_id: str, message: str) -> None:
        """Record the pause if the disk lets us; the page is told either way. A job whose
        pause could not be written is paused at the next start-up (pause_interrupted_jobs)."""
        live = self.live(job_id)
        with contextlib.suppress(StorageFullError), self.store.write() as db:
            repo.set_job_status(db, job_id, JobStatus.PAUSED, message)
        live.phase = "connected" if self.link else "idle"
        live.waiting_for, live.action, live.deadline_ms = None, None, None
        live.instruction = message

    async def _run_service_requests(self, job_id: str) -> None:
        reader = self.store.reader()
        all_commands = repo.commands(reader, job_id)
        for sr in repo.service_requests(reader, job_id):
            sr_commands = [c for c in all_commands if c["service_request_id"] == sr["id"]]
            await self._run_service_request(job_id, sr, sr_commands)
        final = repo.commands(self.store.reader(), job_id)
        ok = all(CommandState(c["state"]) in GOOD_STATES for c in final)
        status = JobStatus.COMPLETED if ok else JobStatus.FAILED
        message = (
            "Every command answered"
            if ok
            else "Finished; some service requests failed (see the commands marked)"
        )
        with self.store.write() as db:
            repo.set_job_status(db, job_id, status, message, finished_at=utc_now())
        live = self.live(job_id)
        live.phase = "connected" if self.link else "idle"
        live.waiting_for = live.action = None
        live.deadline_ms = live.eta_ms = None

    async def _run_service_request(
        self, job_id: str, sr: dict[str, Any], commands: list[dict[str, Any]]
    ) -> None:
        failed_at: dict[str, Any] | None = None
        for cmd in commands:
            cmd = repo.get_command(self.store.reader(), cmd["id"])
            state = CommandState(cmd["state"])
            if failed_at is not None:
                if state not in DONE_STATES:
                    self._set_command(
                        cmd["id"],
                        state=CommandState.SKIPPED.value,
                        last_error=f"Not sent: command {failed_at['seq']} failed",
                    )
                continue
            if state not in DONE_STATES:
                state = await self._deliver(job_id, cmd)
            if state not in GOOD_STATES:
                failed_at = cmd
        sr_state = "failed" if failed_at else "done"
        with self.store.write() as db:
            db["service_requests"].update(sr["id"], {"state": sr_state})

    def _set_command(self, command_id: int, **fields: Any) -> dict[str, Any]:
        with self.store.write() as db:
            cmd = repo.update_command(db, command_id, **fields)
        self.publish(cmd["job_id"], "command", command=repo.command_view(cmd))
        return cmd

    def _eta_ms(self, job_id: str) -> int:
        durations = self._durations.get(job_id) or []
        per = (
            sum(durations) / len(durations) if durations else self._scaled(DEFAULT_COMMAND_SECONDS)
        )
        remaining = (
            self.store.reader()
            .execute(
                "SELECT count(*) FROM commands WHERE job_id = ? AND state NOT IN "
                "('answered','failed','rejected','skipped')",
                [job_id],
            )
            .fetchone()[0]
        )
        return int((time.time() + per * remaining) * 1000)

    def _check_pause(self, job_id: str) -> None:
        control = self._controls.get(job_id)
        if control and control.pause.is_set():
            raise JobInterrupted("Paused by the installer. Resume when ready.")

    async def _deliver(self, job_id: str, cmd: dict[str, Any]) -> CommandState:
        """Send one command until it is settled or the job must stop."""
        live = self.live(job_id)
        sleepy = cmd["device_role"] in SLEEPY_ROLES
        timeout = self._scaled(
            GSME_RESPONSE_TIMEOUT_SECONDS if sleepy else RESPONSE_TIMEOUT_SECONDS
        )
        started = time.monotonic()
        if CommandState(cmd["state"]) in IN_FLIGHT_STATES:
            self._event(
                job_id,
                "resume",
                f"Command {cmd['seq']} ({cmd['use_case']}) was in flight; resending the same "
                "bytes (the device rejects it if it already ran)",
                command_id=cmd["id"],
            )
        sends = 0
        while True:
            self._check_pause(job_id)
            if self.link is None:
                raise JobInterrupted(
                    "The radio link to the hub dropped. Reconnect to the hub, then resume."
                )
            if sends >= MAX_ATTEMPTS:
                self._set_command(
                    cmd["id"],
                    state=CommandState.TIMED_OUT.value,
                    last_error=f"No answer after {sends} tries",
                )
                who = "gas meter" if sleepy else (cmd["device_role"] or "device").upper()
                raise JobInterrupted(
                    f"The {who} did not answer command {cmd['seq']} after {sends} "
                    "tries. Check it has power and is near the hub, then resume."
                )
            sends += 1
            attempt = cmd["attempts"] + 1
            fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._waiters[cmd["id"]] = fut
            cmd = self._set_command(
                cmd["id"],
                state=CommandState.SENDING.value,
                attempts=attempt,
                sent_at=utc_now(),
                last_error=None,
            )
            live.phase, live.waiting_for, live.action = "running", None, None
            live.eta_ms = self._eta_ms(job_id)
            self.publish_live(job_id)
            checkpoint("intent-committed")
            try:
                await self.link.put(cmd["raw"])
            except RadioError as exc:
                self._drop_waiter(cmd["id"])
                self._set_command(cmd["id"], last_error=exc.instruction)
                self._link_lost(job_id, exc)
                raise JobInterrupted(exc.instruction) from exc
            checkpoint("sent")
            current = repo.get_command(self.store.reader(), cmd["id"])
            if current["state"] == CommandState.SENDING.value:
                cmd = self._set_command(cmd["id"], state=CommandState.DELIVERED.value)
                checkpoint("delivered-committed")
            deadline = time.time() + timeout
            live.phase = "waiting"
            live.deadline_ms = int(deadline * 1000)
            if sleepy:
                live.waiting_for = (
                    "The gas meter is asleep. Press the button on the gas meter to wake it."
                )
                live.action = "wake-gsme"
            else:
                live.waiting_for = f"Waiting for the {cmd['device_role'].upper()} to answer"
            self.publish_live(job_id)
            try:
                state = await asyncio.wait_for(asyncio.shield(fut), timeout)
            except TimeoutError:
                self._drop_waiter(cmd["id"])
                self._event(
                    job_id,
                    "timeout",
                    f"No answer to command {cmd['seq']} ({cmd['use_case']}), attempt {attempt}",
                    command_id=cmd["id"],
                )
                cmd = repo.get_command(self.store.reader(), cmd["id"])
                if CommandState(cmd["state"]) in DONE_STATES:
                    return CommandState(cmd["state"])
                continue
            except asyncio.CancelledError:
                self._drop_waiter(cmd["id"])
                self._check_pause(job_id)
                raise
            except RadioError as exc:
                self._drop_waiter(cmd["id"])
                raise JobInterrupted(exc.instruction) from exc
            except StorageFullError:
                self._drop_waiter(cmd["id"])
                raise
            self._drop_waiter(cmd["id"])
            live.waiting_for = live.action = None
            live.deadline_ms = None
            self._durations.setdefault(job_id, []).append(time.monotonic() - started)
            return CommandState(state)
