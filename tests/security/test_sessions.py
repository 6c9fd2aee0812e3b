"""Server-side sessions: the cookie is only a token, and ending a session ends it at once:
pages, the API and sockets, for logout (that session), a reset PIN and a disabled user
(every session of theirs)."""

from __future__ import annotations

import hashlib
import time

import pytest

from tests.conftest import login
from tests.security.conftest import (
    COOKIE,
    cookie_of,
    events_count,
    execute,
    put_cookie,
    session_rows,
    socket_for,
)
from tests.web.conftest import dump
from webapp.auth import sessions as records
from webapp.auth.users import reset_secret
from webapp.sim.demo import DEMO_INSTALLER
from webapp.web.context import station
from webapp.web.sockets import registry


def _token(client) -> str:  # type: ignore[no-untyped-def]
    with client.session_transaction() as sess:
        return sess["csrf"]


def _installer_job(demo_jobs: list[dict]) -> dict:
    return demo_jobs[0]


def _hub_label(client, job: dict, token: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/jobs/{job['id']}/hub-label",
        json={"text": job["expected_hub_id"]},
        headers={"X-CSRF-Token": token},
    )


def _server_knows(app, sock) -> bool:  # type: ignore[no-untyped-def]
    server = app.extensions["hht"].socketio.server
    sid = server.manager.sid_from_eio_sid(sock.eio_sid, "/")
    return sid is not None and server.manager.is_connected(sid, "/")


def _joined(sock, job_id: str) -> bool:  # type: ignore[no-untyped-def]
    sock.emit("join", {"job_id": job_id})
    return any(m["name"] == "job" for m in sock.get_received())


def test_the_cookie_is_a_token_and_the_table_keeps_only_its_hash(app, client):
    client.get("/login")
    before = cookie_of(client)
    login(client, "installer")
    token = cookie_of(client)
    assert token != before, "logging in gives a new token (no session fixation)"
    assert len(token) >= 43 and "." not in token  # 256 random bits, no signed payload
    rows = session_rows(app)
    keys = {row["id"] for row in rows}
    assert hashlib.sha256(token.encode()).hexdigest() in keys
    assert token not in keys and before not in str(rows)
    assert hashlib.sha256(before.encode()).hexdigest() not in keys, "the old token is gone"
    mine = next(r for r in rows if r["user_id"] is not None)
    assert mine["role"] == "installer" and mine["csrf"] == _token(client)
    assert mine["address"] == "127.0.0.1" and mine["created"] <= mine["last_seen"]


def _login_installer(client):  # type: ignore[no-untyped-def]
    client.get("/login")
    return client.post(
        "/login?role=installer",
        data={
            "username": DEMO_INSTALLER[0],
            "secret": DEMO_INSTALLER[2],
            "role": "installer",
            "csrf_token": _token(client),
        },
    )


def test_the_cookie_flags(app, client):
    response = _login_installer(client)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/", "Expires="):
        assert flag in cookie, flag
    assert "Secure" not in cookie  # plain HTTP in this app
    app.config["SESSION_COOKIE_SECURE"] = True  # as hht serve sets it under HTTPS
    client.post("/logout", data={"csrf_token": _token(client)})
    response = _login_installer(client)
    assert "Secure" in response.headers["Set-Cookie"]


def test_after_logout_the_old_cookie_reads_and_writes_nothing(app, client, demo_jobs):
    job = _installer_job(demo_jobs)
    token = login(client, "installer")
    assert _hub_label(client, job, token).status_code == 200, "it writes while logged in"
    old = cookie_of(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    put_cookie(client, old)
    assert client.get(f"/api/jobs/{job['id']}").status_code == 401
    page = client.get(f"/i/jobs/{job['id']}")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    events, before = events_count(app), dump(app)
    # the old cookie with the old page's token: its token died with the session
    response = _hub_label(client, job, token)
    assert response.status_code == 400 and "security token" in response.get_json()["error"]
    # the old cookie with a fresh token (as a reloaded page would have one)
    put_cookie(client, old)
    client.get("/login")
    response = _hub_label(client, job, _token(client))
    assert response.status_code == 401
    assert response.get_json()["error"] == "Log in first."
    assert events_count(app) == events and dump(app) == before


def test_logout_disconnects_that_sessions_socket_only(app, client, demo_jobs):
    job = _installer_job(demo_jobs)
    token = login(client, "installer")
    other_phone = app.test_client()
    login(other_phone, "installer")
    sock, other_sock = socket_for(app, client), socket_for(app, other_phone)
    assert sock.is_connected() and other_sock.is_connected()
    assert _joined(sock, job["id"])
    client.post("/logout", data={"csrf_token": token})
    assert not sock.is_connected() and not _server_knows(app, sock)
    assert other_sock.is_connected() and _joined(other_sock, job["id"])
    assert other_phone.get(f"/api/jobs/{job['id']}").status_code == 200


@pytest.mark.parametrize("action", ["reset", "disable"])
def test_reset_or_disable_ends_every_session_and_socket_of_the_user(app, client, demo_jobs, action):
    job = _installer_job(demo_jobs)
    phones = [app.test_client(), app.test_client()]
    cookies, sockets = [], []
    for phone in phones:
        login(phone, "installer")
        cookies.append(cookie_of(phone))
        sockets.append(socket_for(app, phone))
        assert _joined(sockets[-1], job["id"])
    other = app.test_client()
    login(other, "installer", ("jo", "", "135791"))
    other_sock = socket_for(app, other)
    supervisor = login(client, "supervisor")
    response = client.post(
        "/s/users",
        data={
            "action": action,
            "username": DEMO_INSTALLER[0],
            "secret": "97531864",
            "csrf_token": supervisor,
        },
    )
    assert response.status_code == 302
    for phone, cookie, sock in zip(phones, cookies, sockets, strict=True):
        assert not sock.is_connected() and not _server_knows(app, sock)
        put_cookie(phone, cookie)
        assert phone.get(f"/api/jobs/{job['id']}").status_code == 401
        assert phone.get("/i/").status_code == 302
    assert other_sock.is_connected(), "another user's socket stays"
    assert client.get("/s/users").status_code == 200, "the supervisor stays logged in"
    with app.app_context():
        assert len(registry(app)) == 1


def test_a_socket_whose_session_ended_unseen_can_do_nothing(app, client, demo_jobs):
    """A session ended where no listener hears it (``hht users reset`` from the command line,
    or a race with the disconnect): the socket's next event finds it ended."""
    job = _installer_job(demo_jobs)
    login(client, "installer")
    sock = socket_for(app, client)
    with app.app_context(), station().store.write() as db:
        reset_secret(db, DEMO_INSTALLER[0], "97531864")
    assert sock.is_connected()  # nobody told the socket
    before = dump(app)
    sock.emit("join", {"job_id": job["id"]})
    received = sock.queue  # what reached it before it was disconnected
    assert [m["name"] for m in received] == ["error"]
    assert "session has ended" in received[0]["args"][0]["error"]
    assert not sock.is_connected() and not _server_knows(app, sock)
    assert dump(app) == before


def test_a_socket_needs_a_live_session_to_connect(app, client):
    login(client, "installer")
    old = cookie_of(client)
    client.post("/logout", data={"csrf_token": _token(client)})
    put_cookie(client, old)
    assert not socket_for(app, client).is_connected()


@pytest.mark.parametrize(
    ("column", "age"),
    [
        ("last_seen", records.IDLE_SECONDS + 1),
        ("created", records.ABSOLUTE_SECONDS + 1),
    ],
)
def test_idle_and_absolute_lifetimes(app, client, demo_jobs, column, age):
    job = _installer_job(demo_jobs)
    login(client, "installer")
    assert client.get(f"/api/jobs/{job['id']}").status_code == 200
    execute(app, f"UPDATE sessions SET {column} = ? WHERE user_id IS NOT NULL", [time.time() - age])
    assert client.get(f"/api/jobs/{job['id']}").status_code == 401
    assert not socket_for(app, client).is_connected()


def test_last_seen_is_written_at_most_once_a_minute(app, client, demo_jobs):
    job = _installer_job(demo_jobs)
    login(client, "installer")
    seen = [r["last_seen"] for r in session_rows(app) if r["user_id"]][0]
    client.get(f"/api/jobs/{job['id']}")
    assert [r["last_seen"] for r in session_rows(app) if r["user_id"]] == [seen]
    stale = seen - records.TOUCH_INTERVAL_SECONDS - 1
    execute(app, "UPDATE sessions SET last_seen = ?", [stale])
    client.get(f"/api/jobs/{job['id']}")
    assert [r["last_seen"] for r in session_rows(app) if r["user_id"]][0] > stale


def test_open_session_answers_a_wsgi_layer_without_a_request_context(app, client):
    """What the socket gate does before a websocket upgrade."""
    login(client, "installer")
    token = cookie_of(client)

    def opened():  # type: ignore[no-untyped-def]
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/socket.io/", "SERVER_NAME": "hht"}
        environ["SERVER_PORT"] = "80"
        environ["HTTP_COOKIE"] = f"{COOKIE}={token}"
        return app.session_interface.open_session(app, app.request_class(environ))

    session = opened()
    assert session.live and session.get("user_id") is not None
    client.post("/logout", data={"csrf_token": _token(client)})
    session = opened()
    assert not session.live and session.get("user_id") is None


def test_anonymous_sessions_are_capped(app, monkeypatch):
    monkeypatch.setattr(records, "MAX_ANONYMOUS_SESSIONS", 5)
    for _ in range(12):
        app.test_client().get("/login")
    assert len([r for r in session_rows(app) if r["user_id"] is None]) <= 5
