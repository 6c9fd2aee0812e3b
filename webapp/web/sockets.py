"""Socket.IO: authenticated, same-origin connections that follow one job's progress."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

from flask import request
from flask_socketio import ConnectionRefusedError as SocketRefused
from flask_socketio import SocketIO, emit, join_room, leave_room

from webapp.auth.users import SUPERVISOR
from webapp.jobs import repo
from webapp.store.clock import utc_now
from webapp.web.context import get_db, station
from webapp.web.security import current_user

log = logging.getLogger(__name__)


PHONE_ROUND_TRIPS = 5
MAX_ROUND_TRIP_MS = 10_000
PLAUSIBLE_MS = (1_577_836_800_000, 4_102_444_800_000)  # 2020 to 2100
_pings: dict[str, int] = {}


def may_see_job(user: Any, job: dict[str, Any]) -> bool:
    return user.role == SUPERVISOR or job["assignee_id"] == user.id


def register(socketio: SocketIO) -> None:
    @socketio.on("connect")
    def on_connect(auth: Any = None) -> None:  # noqa: ARG001
        origin = request.headers.get("Origin")
        if origin and urlsplit(origin).netloc != request.host:
            log.warning("refused socket from foreign origin %s", origin)
            raise SocketRefused("Cross-origin connections are not allowed.")
        if current_user() is None:
            log.info("refused anonymous socket from %s", request.remote_addr)
            raise SocketRefused("Log in first.")

    @socketio.on("join")
    def on_join(data: Any) -> None:
        user = current_user()
        if user is None:
            emit("error", {"error": "Log in first."})
            return
        job_id = data.get("job_id") if isinstance(data, dict) else None
        if not isinstance(job_id, str) or len(job_id) > 64:
            emit("error", {"error": "join needs a job_id."})
            return
        job = repo.get_job(get_db(), job_id)
        if job is None or not may_see_job(user, job):
            emit("error", {"error": f"No job {job_id} for you."})
            return
        for room in list(getattr(request, "hht_rooms", [])):
            leave_room(room)
        join_room(f"job-{job_id}")
        emit("job", {"type": "snapshot", "snapshot": station().runner.snapshot(job_id)})
        _pings[request.sid] = 0
        emit("clock_ping", {"sent_ms": time.time() * 1000})

    @socketio.on("clock_pong")
    def on_clock_pong(data: Any) -> None:
        """The phone's clock, one round trip at a time (a few per connection)."""
        received_ms = time.time() * 1000
        if current_user() is None or request.sid not in _pings:
            return
        try:
            sent_ms, phone_ms = float(data["sent_ms"]), float(data["phone_ms"])
        except (TypeError, KeyError, ValueError):
            emit("error", {"error": "clock_pong needs sent_ms and phone_ms."})
            return
        if not (PLAUSIBLE_MS[0] < phone_ms < PLAUSIBLE_MS[1]) or not (
            0 <= received_ms - sent_ms < MAX_ROUND_TRIP_MS
        ):
            return  # not this server's ping, or a clock nobody should trust
        sample = station().runner.clock.offer_phone(sent_ms, phone_ms, received_ms)
        with station().store.write() as db:
            db["clock_samples"].insert(
                {
                    "at": utc_now(),
                    "source": sample.source.value,
                    "offset_s": sample.offset_s,
                    "uncertainty_s": sample.uncertainty_s,
                }
            )
        _pings[request.sid] += 1
        if _pings[request.sid] < PHONE_ROUND_TRIPS:
            emit("clock_ping", {"sent_ms": time.time() * 1000})

    @socketio.on("disconnect")
    def on_disconnect(*_args: Any) -> None:
        _pings.pop(request.sid, None)
