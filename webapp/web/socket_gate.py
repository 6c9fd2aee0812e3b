"""The gate in front of Socket.IO: only logged-in sessions get a live connection, and few.

In threading mode every live Socket.IO connection holds one of the worker's threads: a
websocket for its whole life, a long poll for up to Engine.IO's ping interval. Flask-SocketIO
decides who may connect only once the transport is open (the ``connect`` event comes with
the client's ``40``), so an anonymous client that answers pings keeps its thread. The gate
is WSGI middleware in front of Flask-SocketIO's: it answers a Socket.IO request with an HTTP
error, before any upgrade, when

- the ``Origin`` is another site's (403);
- the request carries no logged-in session (401), as the app's own session interface reads
  it (``app.session_interface.open_session``), so whatever stores the sessions decides;
- the session, the client's address or the whole server already has its share of live
  connections (429), so at least half of the threads are always left for pages.

Only the ``GET`` requests that stay open (the websocket, the long poll) take a share; the
short ``POST`` of a poll only needs the session.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

#: Flask-SocketIO's default path, the one the app's pages use.
SOCKETIO_PATH = "/socket.io"
#: The key the app's login puts in the session (``webapp.web.security.login_user``).
SESSION_USER_KEY = "user_id"
#: Live connections one login may hold: a few tabs on one phone.
SOCKETS_PER_SESSION = 4
#: Live connections one client address may hold: an installer and a supervisor on one device.
SOCKETS_PER_ADDRESS = 6
#: Of the worker's threads, the share live connections may take; the rest serve pages.
SOCKET_SHARE_OF_THREADS = 0.5
RETRY_AFTER_SECONDS = 10

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
StartResponse = Callable[..., Any]


def total_socket_cap(threads: int) -> int:
    """Live connections the whole server may hold with ``threads`` worker threads."""
    return max(1, int(threads * SOCKET_SHARE_OF_THREADS))


class SocketCaps:
    """Counts live connections by session, by client address and in total (thread-safe)."""

    def __init__(self, total: int, per_session: int, per_address: int) -> None:
        self.total = total
        self.per_session = per_session
        self.per_address = per_address
        self._lock = threading.Lock()
        self._sessions: Counter[str] = Counter()
        self._addresses: Counter[str] = Counter()
        self._live = 0

    @property
    def live(self) -> int:
        return self._live

    def acquire(self, session: str, address: str) -> str | None:
        """Take a share, or say (in words for the client) why there is none."""
        with self._lock:
            if self._sessions[session] >= self.per_session:
                return (
                    f"This login already has {self.per_session} live connections: "
                    "close another tab of the HHT."
                )
            if self._addresses[address] >= self.per_address:
                return (
                    f"This device already has {self.per_address} live connections: "
                    "close another tab of the HHT."
                )
            if self._live >= self.total:
                return "The HHT has as many live connections as it can serve: try again shortly."
            self._sessions[session] += 1
            self._addresses[address] += 1
            self._live += 1
            return None

    def release(self, session: str, address: str) -> None:
        with self._lock:
            self._sessions[session] -= 1
            if self._sessions[session] <= 0:
                del self._sessions[session]
            self._addresses[address] -= 1
            if self._addresses[address] <= 0:
                del self._addresses[address]
            self._live -= 1


class _Released:
    """The wrapped app's response, giving the share back when the server closes it."""

    def __init__(self, body: Iterable[bytes], release: Callable[[], None]) -> None:
        self._body = body
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            if self._release is not None:
                release, self._release = self._release, None
                release()


class SocketGate:
    """WSGI middleware: Socket.IO requests pass only with a session and within the caps."""

    def __init__(
        self,
        app: Flask,
        wsgi_app: WsgiApp,
        caps: SocketCaps,
        *,
        path: str = SOCKETIO_PATH,
    ) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.caps = caps
        self.path = path.rstrip("/")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path != self.path and not path.startswith(self.path + "/"):
            return self.wsgi_app(environ, start_response)
        address = environ.get("REMOTE_ADDR") or "-"
        if _foreign_origin(environ):
            log.warning("refused socket from foreign origin %s", environ.get("HTTP_ORIGIN"))
            return _refuse(start_response, 403, "Cross-origin connections are not allowed.")
        session = self.logged_in_session(environ)
        if session is None:
            log.info("refused anonymous socket from %s", address)
            return _refuse(start_response, 401, "Log in first.")
        if environ.get("REQUEST_METHOD", "GET") != "GET":
            return self.wsgi_app(environ, start_response)
        refusal = self.caps.acquire(session, address)
        if refusal is not None:
            log.warning("refused socket from %s: %s", address, refusal)
            return _refuse(start_response, 429, refusal, retry_after=RETRY_AFTER_SECONDS)

        def release() -> None:
            self.caps.release(session, address)

        try:
            body = self.wsgi_app(environ, start_response)
        except BaseException:
            release()
            raise
        return _Released(body, release)

    def logged_in_session(self, environ: dict[str, Any]) -> str | None:
        """A digest of the session cookie when it opens to a logged-in session, else None."""
        app = self.app
        request = app.request_class(environ, shallow=True)
        cookie = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        if not cookie:
            return None
        try:
            with app.app_context():
                session = app.session_interface.open_session(app, request)
        except Exception:  # a session store that fails is no login
            log.exception("could not open the session of a socket request")
            return None
        if session is None or session.get(SESSION_USER_KEY) is None:
            return None
        return hashlib.sha256(cookie.encode()).hexdigest()[:32]


def _foreign_origin(environ: dict[str, Any]) -> bool:
    origin = environ.get("HTTP_ORIGIN")
    return bool(origin) and urlsplit(origin).netloc != environ.get("HTTP_HOST", "")


def _refuse(
    start_response: StartResponse, status: int, message: str, *, retry_after: int | None = None
) -> list[bytes]:
    reasons = {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}
    body = (message + "\n").encode()
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
    ]
    if retry_after is not None:
        headers.append(("Retry-After", str(retry_after)))
    start_response(f"{status} {reasons[status]}", headers)
    return [body]


def install(app: Flask, threads: int) -> SocketGate:
    """Put the gate in front of the app's Socket.IO (``app.wsgi_app``), caps for ``threads``."""
    caps = SocketCaps(total_socket_cap(threads), SOCKETS_PER_SESSION, SOCKETS_PER_ADDRESS)
    gate = SocketGate(app, app.wsgi_app, caps)
    app.wsgi_app = gate  # type: ignore[method-assign]
    app.extensions["hht_socket_gate"] = gate
    return gate
