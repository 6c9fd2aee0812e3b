"""The socket gate (in process): a Socket.IO request gets an HTTP error before any upgrade
when it has no logged-in session or comes from another site, and live connections are
capped per session, per client address and in total."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from tests.conftest import login
from webapp.web.server import protect
from webapp.web.socket_gate import (
    SOCKETS_PER_ADDRESS,
    SOCKETS_PER_SESSION,
    SocketCaps,
    SocketGate,
    total_socket_cap,
)

POLLING = "/socket.io/?EIO=4&transport=polling"
WEBSOCKET = "/socket.io/?EIO=4&transport=websocket"
UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}
COOKIE = "hht_session"


@pytest.fixture
def gated(app):  # type: ignore[no-untyped-def]
    protect(app, 16, behind_front=False)
    return app


def test_anonymous_websocket_upgrade_is_refused_before_it_is_accepted(gated):
    response = gated.test_client().get(WEBSOCKET, headers=UPGRADE)
    assert response.status_code == 401
    assert response.get_data(as_text=True).strip() == "Log in first."


def test_anonymous_polling_handshake_is_refused(gated):
    client = gated.test_client()
    assert client.get(POLLING).status_code == 401
    assert client.post(POLLING + "&sid=x", data="40").status_code == 401
    client.get("/login")  # a session that is not logged in is no better
    assert client.get_cookie(COOKIE) is not None
    assert client.get(POLLING).status_code == 401


def test_a_logged_in_session_opens_socketio(gated):
    client = gated.test_client()
    login(client)
    response = client.get(POLLING)
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("0{")  # Engine.IO's open packet


def test_a_foreign_origin_is_refused(gated):
    client = gated.test_client()
    login(client)
    response = client.get(POLLING, headers={"Origin": "http://rebound.example"})
    assert response.status_code == 403


def test_pages_are_not_gated(gated):
    assert gated.test_client().get("/login").status_code == 200


# ------------------------------------------------------------------ the caps
class Held:
    """A stand-in for Socket.IO behind the gate: answers 200 and holds the connection
    until the server closes its response."""

    def __init__(self) -> None:
        self.closed = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        holder = self

        class Body(list):  # type: ignore[type-arg]
            def close(self) -> None:
                holder.closed += 1

        return Body([b"ok"])


def _cookie(app) -> str:  # type: ignore[no-untyped-def]
    client = app.test_client()
    login(client)
    return client.get_cookie(COOKIE).value


def _open(gate: SocketGate, cookie: str, address: str, method: str = "GET") -> tuple[int, Any]:
    environ = EnvironBuilder(
        path="/socket.io/",
        query_string="EIO=4&transport=websocket",
        method=method,
        headers={"Cookie": f"{COOKIE}={cookie}", **UPGRADE},
        environ_base={"REMOTE_ADDR": address},
    ).get_environ()
    status: list[str] = []
    body = gate(environ, lambda s, _headers: status.append(s))
    return int(status[0].split()[0]), body


def test_caps_per_session_per_address_and_in_total(app):
    caps = SocketCaps(total=8, per_session=SOCKETS_PER_SESSION, per_address=SOCKETS_PER_ADDRESS)
    gate = SocketGate(app, Held(), caps)
    first, second, third, fourth = (_cookie(app) for _ in range(4))

    held = [_open(gate, first, "10.42.0.10") for _ in range(SOCKETS_PER_SESSION)]
    assert [status for status, _ in held] == [200] * SOCKETS_PER_SESSION
    status, body = _open(gate, first, "10.42.0.11")  # the same login from anywhere
    assert status == 429
    assert b"This login already has 4 live connections" in b"".join(body)

    # a second login on the same device: up to the address's cap
    more = [_open(gate, second, "10.42.0.10") for _ in range(2)]
    assert [status for status, _ in more] == [200, 200]
    status, body = _open(gate, second, "10.42.0.10")
    assert status == 429
    assert b"This device already has 6 live connections" in b"".join(body)

    # the whole server: 8 here
    others = [_open(gate, third, "10.42.0.12"), _open(gate, fourth, "10.42.0.13")]
    assert [status for status, _ in others] == [200, 200]
    status, body = _open(gate, fourth, "10.42.0.13")
    assert status == 429
    assert b"as many live connections as it can serve" in b"".join(body)
    assert caps.live == 8

    # a short POST (a poll's message) takes no share
    assert _open(gate, fourth, "10.42.0.13", method="POST")[0] == 200

    # closing one gives its share back
    held[0][1].close()
    assert caps.live == 7
    assert _open(gate, fourth, "10.42.0.13")[0] == 200


def test_a_share_is_given_back_when_the_app_fails(app):
    caps = SocketCaps(total=1, per_session=1, per_address=1)

    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raise RuntimeError("socket handler failed")

    gate = SocketGate(app, broken, caps)
    cookie = _cookie(app)
    with pytest.raises(RuntimeError):
        _open(gate, cookie, "10.42.0.10")
    assert caps.live == 0


def test_the_total_is_half_the_threads():
    assert total_socket_cap(16) == 8
    assert total_socket_cap(8) == 4
    assert total_socket_cap(1) == 1
