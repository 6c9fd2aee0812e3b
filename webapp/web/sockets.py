"""Socket.IO: authenticated, same-origin connections that follow one job's progress."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import request
from flask_socketio import ConnectionRefusedError as SocketRefused
from flask_socketio import SocketIO, emit, join_room, leave_room

from webapp.auth.users import SUPERVISOR
from webapp.jobs import repo
from webapp.web.context import get_db, station
from webapp.web.security import current_user

log = logging.getLogger(__name__)


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
