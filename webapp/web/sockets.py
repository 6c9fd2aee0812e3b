"""Socket.IO: authenticated, same-origin connections that follow one job's progress.

Every socket is registered with the session it was opened under (:class:`SocketRegistry`).
Ending a session (logging out) or every session of a user (a reset PIN, a disabled user)
disconnects those sockets at once, and every event re-reads the session first: a socket
whose session has ended does nothing, even if it slipped past the disconnect.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask_socketio import ConnectionRefusedError as SocketRefused
from flask_socketio import SocketIO, emit, join_room, leave_room

from webapp.auth.users import SUPERVISOR
from webapp.jobs import repo
from webapp.web import phone_clock, sessions
from webapp.web.context import get_db, station
from webapp.web.security import current_user

log = logging.getLogger(__name__)

REGISTRY_EXTENSION = "hht_sockets"
NAMESPACE = "/"
SESSION_ENDED = "Your session has ended: log in again."


def may_see_job(user: Any, job: dict[str, Any]) -> bool:
    return user.role == SUPERVISOR or job["assignee_id"] == user.id


@dataclass(frozen=True)
class SocketEntry:
    session_key: str
    user_id: int


class SocketRegistry:
    """The app's open sockets, each with its session and user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_sid: dict[str, SocketEntry] = {}

    def add(self, sid: str, entry: SocketEntry) -> None:
        with self._lock:
            self._by_sid[sid] = entry

    def get(self, sid: str) -> SocketEntry | None:
        with self._lock:
            return self._by_sid.get(sid)

    def remove(self, sid: str) -> None:
        with self._lock:
            self._by_sid.pop(sid, None)

    def take(self, ended: sessions.EndedSessions) -> list[str]:
        """Remove and return the sockets of these ended sessions."""
        with self._lock:
            sids = [
                sid
                for sid, entry in self._by_sid.items()
                if entry.session_key in ended.keys or entry.user_id == ended.user_id
            ]
            for sid in sids:
                del self._by_sid[sid]
        return sids

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_sid)


def registry(app: Flask) -> SocketRegistry:
    """The app's socket registry (made, and subscribed to ended sessions, on first use)."""
    found = app.extensions.get(REGISTRY_EXTENSION)
    if found is None:
        found = app.extensions.setdefault(REGISTRY_EXTENSION, SocketRegistry())
        sessions.on_end(app, _disconnect_ended)
    return found


def _disconnect_ended(app: Flask, ended: sessions.EndedSessions) -> None:
    socketio: SocketIO = app.extensions["socketio"]
    for sid in registry(app).take(ended):
        log.info("socket %s disconnected: its session ended (%s)", sid, ended.reason)
        socketio.server.disconnect(sid, namespace=NAMESPACE)


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _live_socket() -> bool:
    """Whether this socket's session is still live; if not, it is disconnected."""
    app = _app()
    entry = registry(app).get(request.sid)
    if entry is not None and sessions.is_live(app, entry.session_key):
        return True
    registry(app).remove(request.sid)
    log.info("socket %s: its session has ended; disconnecting", request.sid)
    emit("error", {"error": SESSION_ENDED})
    app.extensions["socketio"].server.disconnect(request.sid, namespace=NAMESPACE)
    return False


def live_only(handler: Callable[..., None]) -> Callable[..., None]:
    """Run ``handler`` only while the socket's session is live."""

    @functools.wraps(handler)
    def wrapped(*args: Any) -> None:
        if _live_socket():
            handler(*args)

    return wrapped


def register(socketio: SocketIO) -> None:
    @socketio.on("connect")
    def on_connect(auth: Any = None) -> None:  # noqa: ARG001
        origin = request.headers.get("Origin")
        if origin and urlsplit(origin).netloc != request.host:
            log.warning("refused socket from foreign origin %s", origin)
            raise SocketRefused("Cross-origin connections are not allowed.")
        app = _app()
        opened = app.session_interface.open_session(app, request)  # a fresh read
        user = current_user()
        if not getattr(opened, "live", False) or user is None or opened.user_id != user.id:
            log.info("refused socket without a live session from %s", request.remote_addr)
            raise SocketRefused("Log in first.")
        # registered before the second look, so a session ended between the two is
        # either seen ended here or finds this socket in the registry
        registry(app).add(request.sid, SocketEntry(opened.key, user.id))
        if not sessions.is_live(app, opened.key):
            registry(app).remove(request.sid)
            raise SocketRefused("Log in first.")

    @socketio.on("join")
    @live_only
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
        phone_clock.start(job_id)

    @socketio.on("clock_pong")
    @live_only
    def on_clock_pong(data: Any) -> None:
        """The phone's clock: counted only as the answer to a ping sent (phone_clock)."""
        phone_clock.answer(data)

    @socketio.on("disconnect")
    def on_disconnect(*_args: Any) -> None:
        phone_clock.forget()
        registry(_app()).remove(request.sid)
