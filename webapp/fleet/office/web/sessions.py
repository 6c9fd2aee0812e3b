"""Server-side sessions for the fleet's pages, kept in PostgreSQL.

The same model as the HHT's (``webapp.web.sessions``): the cookie holds a 256-bit token,
the ``sessions`` table the SHA-256 of it and the session's data, with the HHT's idle and
absolute lifetimes; logging in or out gives a new token.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flask import Flask, request
from flask.sessions import SessionInterface

from webapp.auth import sessions as records
from webapp.web.sessions import ServerSession, agent_summary

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool
    from werkzeug.wrappers import Request, Response


def _pool(app: Flask) -> ConnectionPool:
    return app.extensions["fleet"].pool


class FleetSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request: Request) -> ServerSession:  # type: ignore[override]
        token = request.cookies.get(self.get_cookie_name(app), "")
        if not token or len(token) > records.MAX_TOKEN_LENGTH:
            return ServerSession()
        with _pool(app).connection() as conn:
            row = conn.execute(
                "SELECT * FROM sessions WHERE id = %s", [records.key_of(token)]
            ).fetchone()
        if row is None:
            return ServerSession()
        record = records.record_from_row(row)
        if record.expired(time.time()):
            return ServerSession()
        return ServerSession(record.data, record)

    def save_session(  # type: ignore[override]
        self, app: Flask, session: ServerSession, response: Response
    ) -> None:
        now = time.time()
        record = session.record
        name = self.get_cookie_name(app)
        with _pool(app).connection() as conn:
            if not session:
                if record is not None:
                    conn.execute("DELETE FROM sessions WHERE id = %s", [record.key])
                if request.cookies.get(name):
                    response.delete_cookie(name, path=self.get_cookie_path(app))
                return
            user_id = session.get(records.USER_KEY)
            if record is None or record.user_id != user_id:
                if record is not None:
                    conn.execute("DELETE FROM sessions WHERE id = %s", [record.key])
                conn.execute(
                    "DELETE FROM sessions WHERE user_id IS NULL AND last_seen < %s",
                    [now - records.ANONYMOUS_IDLE_SECONDS],
                )
                token = records.new_token()
                conn.execute(
                    "INSERT INTO sessions (id, user_id, role, created, last_seen, address, agent, "
                    "data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        records.key_of(token),
                        user_id,
                        session.get(records.ROLE_KEY),
                        now,
                        now,
                        request.remote_addr or "?",
                        agent_summary(request.headers.get("User-Agent", "")),
                        json.dumps(dict(session)),
                    ],
                )
                expires = (
                    datetime.fromtimestamp(now + records.ABSOLUTE_SECONDS, UTC)
                    if user_id is not None
                    else None
                )
                response.set_cookie(
                    name,
                    token,
                    expires=expires,
                    httponly=True,
                    secure=self.get_cookie_secure(app),
                    samesite=self.get_cookie_samesite(app),
                    path=self.get_cookie_path(app),
                )
            elif session.modified or now - record.last_seen >= records.TOUCH_INTERVAL_SECONDS:
                conn.execute(
                    "UPDATE sessions SET data = %s, last_seen = %s WHERE id = %s",
                    [json.dumps(dict(session)), now, record.key],
                )
