"""Helpers for the security tests: sockets, and a client's session cookie kept and put back."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from webapp.web.context import station

COOKIE = "hht_session"


def socket_for(app: Flask, client: FlaskClient, **kwargs: Any) -> Any:
    """A Socket.IO test client carrying ``client``'s cookies."""
    return app.extensions["hht"].socketio.test_client(app, flask_test_client=client, **kwargs)


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "the client holds no session cookie"
    return cookie.value


def put_cookie(client: FlaskClient, value: str) -> None:
    """Give ``client`` the session cookie ``value`` (an old one kept from before)."""
    client.set_cookie(COOKIE, value)


def events_count(app: Flask) -> int:
    with app.app_context():
        return station().store.reader().execute("SELECT count(*) FROM job_events").fetchone()[0]


def session_rows(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        return [dict(r) for r in station().store.reader().query("SELECT * FROM sessions")]


def execute(app: Flask, sql: str, params: list[Any] | None = None) -> None:
    with app.app_context(), station().store.write() as db:
        db.execute(sql, params or [])
