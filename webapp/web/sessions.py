"""Server-side sessions behind ``flask.session``: the cookie holds only a token.

:class:`ServerSessionInterface` is the app's ``session_interface``: ``flask.session`` works
as before for every view, but what it holds lives in the ``sessions`` table
(:mod:`webapp.auth.sessions`) and ending a session there ends it at once, everywhere.

* ``open_session`` looks the cookie's token up (a read, no write) and returns a
  :class:`ServerSession`: the live one, or a new empty one when the cookie is missing,
  unknown, expired or ended. It needs no request context, so a WSGI layer in front of the
  app may ask ``app.session_interface.open_session(app, request).live`` before it lets a
  websocket upgrade through.
* ``save_session`` writes only what changed: a new session (a login form's CSRF token),
  new data, or ``last_seen`` once a minute. When the user in a session changes (logging in
  or out) the session gets a new token and the old record is deleted, so a token handed out
  before login never becomes a logged-in one.

Ending sessions (:func:`end_current`, :func:`ended_for_user`) tells the listeners added
with :func:`on_end`: the Socket.IO registry disconnects those sessions' sockets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, request, session
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from webapp.auth import sessions as records

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from webapp.store.db import Store

log = logging.getLogger(__name__)

LISTENERS_EXTENSION = "hht_session_end_listeners"
MAX_AGENT_INPUT = 512


class ServerSession(CallbackDict, SessionMixin):  # type: ignore[type-arg]
    """``flask.session``: a dict whose record (when it has one) is in the sessions table."""

    def __init__(
        self,
        initial: dict[str, Any] | None = None,
        record: records.SessionRecord | None = None,
    ) -> None:
        def on_update(_self: CallbackDict) -> None:  # type: ignore[type-arg]
            self.modified = True
            self.accessed = True

        super().__init__(initial or {}, on_update)
        self.record = record
        self.new = record is None
        self.modified = False
        self.accessed = False

    @property
    def key(self) -> str | None:
        """The record's key (the SHA-256 of the cookie's token); None for a new session."""
        return self.record.key if self.record is not None else None

    @property
    def user_id(self) -> int | None:
        return self.record.user_id if self.record is not None else None

    @property
    def live(self) -> bool:
        """A logged-in session that has not expired or been ended (as of opening it)."""
        return self.record is not None and self.record.user_id is not None


@dataclass(frozen=True)
class EndedSessions:
    """Sessions that have just ended: these keys, or every session of ``user_id``."""

    keys: frozenset[str]
    user_id: int | None
    reason: str  # logout | reset | disabled


EndListener = Callable[[Flask, EndedSessions], None]


def _store(app: Flask) -> Store:
    return app.extensions["hht"].station.store


def agent_summary(user_agent: str) -> str:
    """The browser in a few words (e.g. ``Android 14 Chrome``), for the device page."""
    text = user_agent[:MAX_AGENT_INPUT]
    platform = next(
        (
            name
            for marker, name in (
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Android", "Android"),
                ("Windows", "Windows"),
                ("Mac OS X", "Mac"),
                ("Linux", "Linux"),
            )
            if marker in text
        ),
        "",
    )
    browser = next(
        (
            name
            for marker, name in (
                ("Firefox/", "Firefox"),
                ("Edg/", "Edge"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
            )
            if marker in text
        ),
        "",
    )
    summary = " ".join(part for part in (platform, browser) if part)
    return summary or text[:40] or "?"


class ServerSessionInterface(SessionInterface):
    """Sessions kept in the terminal's database; the cookie carries a 256-bit token."""

    def open_session(self, app: Flask, request: Request) -> ServerSession:  # type: ignore[override]
        token = request.cookies.get(self.get_cookie_name(app), "")
        record = records.load_token(_store(app).reader(), token, time.time())
        if record is None:
            return ServerSession()
        return ServerSession(record.data, record)

    def save_session(  # type: ignore[override]
        self, app: Flask, session: ServerSession, response: Response
    ) -> None:
        now = time.time()
        record = session.record
        if session.accessed:
            response.vary.add("Cookie")
        if not session:
            if record is not None:
                with _store(app).write() as db:
                    records.end(db, record.key)
                session.record = None
            if request.cookies.get(self.get_cookie_name(app)):
                response.delete_cookie(
                    self.get_cookie_name(app),
                    domain=self.get_cookie_domain(app),
                    path=self.get_cookie_path(app),
                    secure=self.get_cookie_secure(app),
                    samesite=self.get_cookie_samesite(app),
                    httponly=self.get_cookie_httponly(app),
                )
            return
        user_id = session.get(records.USER_KEY)
        if record is None or record.user_id != user_id:
            self._begin(app, session, response, now)
        elif session.modified:
            with _store(app).write() as db:
                records.save(db, record.key, dict(session), now)
        elif now - record.last_seen >= records.TOUCH_INTERVAL_SECONDS:
            with _store(app).write() as db:
                records.touch(db, record.key, now)

    def _begin(self, app: Flask, session: ServerSession, response: Response, now: float) -> None:
        """A new record (and token) for ``session``; the one it replaces is deleted."""
        old = session.record
        with _store(app).write() as db:
            if old is not None:
                records.end(db, old.key)
            token, record = records.create(
                db,
                dict(session),
                request.remote_addr or "?",
                agent_summary(request.headers.get("User-Agent", "")),
                now,
            )
        session.record = record
        expires = (
            datetime.fromtimestamp(record.expires_at, UTC) if record.user_id is not None else None
        )
        response.set_cookie(
            self.get_cookie_name(app),
            token,
            expires=expires,
            httponly=self.get_cookie_httponly(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )


def install(app: Flask) -> None:
    """Make server-side sessions the app's sessions."""
    app.session_interface = ServerSessionInterface()
    app.extensions.setdefault(LISTENERS_EXTENSION, [])


def on_end(app: Flask, listener: EndListener) -> None:
    """Call ``listener`` whenever sessions of ``app`` are ended."""
    app.extensions.setdefault(LISTENERS_EXTENSION, []).append(listener)


def _tell(app: Flask, ended: EndedSessions) -> None:
    for listener in list(app.extensions.get(LISTENERS_EXTENSION, [])):
        try:
            listener(app, ended)
        except Exception:  # one listener failing must not keep the others from acting
            log.exception("a session-end listener failed (%s)", ended.reason)


def is_live(app: Flask, key: str) -> bool:
    """Whether the session ``key`` is still live (a fresh read of its record)."""
    return records.load(_store(app).reader(), key, time.time()) is not None


def end_current(reason: str) -> None:
    """End the request's own session now (logging out), and tell the listeners."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    record = session.record if isinstance(session, ServerSession) else None
    session.clear()
    if record is None:
        return
    with _store(app).write() as db:
        records.end(db, record.key)
    session.record = None  # type: ignore[attr-defined]  # nothing left to save or delete
    log.info("session of user %s ended (%s)", record.user_id, reason)
    _tell(app, EndedSessions(frozenset({record.key}), None, reason))


def ended_for_user(user_id: int, reason: str) -> None:
    """Every session of ``user_id`` has been ended in the database: tell the listeners."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    _tell(app, EndedSessions(frozenset(), user_id, reason))
