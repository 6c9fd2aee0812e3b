"""The real server (``hht serve``: nginx in front when installed, gunicorn, the app) keeps
answering: anonymous websockets are refused before the upgrade, live connections are
capped, Socket.IO works through the front, the access log holds no secrets, gunicorn's
control socket is off, and a short attack leaves the installer served."""

from __future__ import annotations

import gzip
import http.client
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio

from tests.security.live import Live, live_server, need_nginx
from webapp.bench.attack import (
    Installer,
    Siege,
    free_port,
    hht_command,
    hold_websocket,
    websocket_handshake,
)
from webapp.cli.serve import DEFAULT_THREADS
from webapp.web import front
from webapp.web.socket_gate import SOCKETS_PER_ADDRESS, SOCKETS_PER_SESSION, total_socket_cap

RELEASE_SECONDS = 10.0  # how long a closed socket may take to give its share back


@pytest.fixture(scope="module")
def live(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_server(demo_template, tmp_path_factory.mktemp("live")) as server:
        yield server


def _first_job(live: Live) -> str:
    from webapp.store.db import Store

    store = Store.open(live.data_dir)
    try:
        return store.reader().execute("SELECT id FROM jobs ORDER BY id LIMIT 1").fetchone()[0]
    finally:
        store.close()


def _open_sockets(live: Live, cookie: str | None, address: str, n: int) -> list[int]:
    """Open ``n`` websockets; keep the upgraded ones (``_held``), note the refusals."""
    statuses = []
    for _ in range(n):
        answer = websocket_handshake(live.port, address, cookie)
        statuses.append(answer.status)
        if answer.status == 101:
            _held.append(answer.sock)
        else:
            _refusals.append(answer.refusal_text())
            answer.sock.close()
    return statuses


_refusals: list[str] = []
_held: list[socket.socket] = []


@pytest.fixture
def held() -> Iterator[list[socket.socket]]:
    """Upgraded websockets a test keeps open; closed (their shares given back) after it."""
    yield _held
    while _held:
        _held.pop().close()


def _wait_until_free(live: Live, cookie: str, address: str) -> None:
    """Until the server has given back every share (a closed websocket's thread ends when
    it notices), as seen by a new session's handshakes."""
    deadline = time.monotonic() + RELEASE_SECONDS
    while time.monotonic() < deadline:
        statuses = _open_sockets(live, cookie, address, 1)
        while _held:
            _held.pop().close()
        if statuses == [101]:
            return
        time.sleep(0.2)
    raise AssertionError("the server did not give the shares back")


def test_an_anonymous_websocket_is_refused_before_the_upgrade(live: Live):
    answer = websocket_handshake(live.port, "127.0.0.1")
    with answer.sock:
        assert answer.status == 401, answer.head
        assert answer.refusal_text().strip() == "Log in first."
        assert b"101" not in answer.head
    installer = Installer(live.port)
    code, _, _ = installer.request("GET", "/socket.io/?EIO=4&transport=polling")
    assert code == 401  # nor a polling handshake


def test_socketio_works_through_the_front(live: Live):
    if not live.front_pids():
        need_nginx()  # skipped when nginx is absent; else the server must have a front
        pytest.fail("nginx is installed but the server runs without its front")
    installer = live.installer()
    client = socketio.Client()
    received: list[dict] = []
    client.on("job", received.append)
    client.connect(
        live.url, transports=["websocket"], headers={"Cookie": installer.session_cookie()}
    )
    try:
        assert client.transport() == "websocket"
        client.emit("join", {"job_id": _first_job(live)})
        for _ in range(100):
            if received:
                break
            client.sleep(0.1)
        assert received and received[0]["type"] == "snapshot"
    finally:
        client.disconnect()


def test_live_connections_are_capped(live: Live, held: list[socket.socket]):
    phone = live.installer("127.0.0.21")
    cookie = phone.session_cookie()
    _wait_until_free(live, cookie, "127.0.0.21")
    statuses = _open_sockets(live, cookie, "127.0.0.21", SOCKETS_PER_SESSION + 1)
    assert statuses == [101] * SOCKETS_PER_SESSION + [429]

    # another login on the same phone: the phone's share is SOCKETS_PER_ADDRESS
    again = live.installer("127.0.0.21").session_cookie()
    statuses = _open_sockets(live, again, "127.0.0.21", 3)
    room = SOCKETS_PER_ADDRESS - SOCKETS_PER_SESSION
    assert statuses == [101] * room + [429] * (3 - room)

    # the same login from another address is still one login
    assert _open_sockets(live, again, "127.0.0.22", 1) == [101]
    # the whole server (16 threads: 8 live connections): new logins from new addresses
    # get sockets until the total is reached
    opened = SOCKETS_PER_ADDRESS + 1
    _refusals.clear()
    for n in range(SOCKETS_PER_ADDRESS):
        cookie = live.installer(f"127.0.0.{40 + n}").session_cookie()
        if _open_sockets(live, cookie, f"127.0.0.{40 + n}", 1) == [429]:
            break
        opened += 1
    assert _refusals and "as many live connections as it can serve" in _refusals[0]
    assert opened <= total_socket_cap(DEFAULT_THREADS)


def test_the_access_log_has_a_line_per_request_and_no_secrets(live: Live):
    installer = Installer(live.port)
    installer.cookies["hht_session"] = "COOKIE-SECRET-VALUE"
    status, _, _ = installer.request("GET", "/login?next=/i/QUERY-SECRET&role=installer")
    assert status == 200
    pattern = re.compile(r'^127\.0\.0\.1 .*"GET /login HTTP/1\.[01]" 200 \d+ \d+ms$', re.M)
    deadline = time.monotonic() + 5
    while not pattern.search(live.log_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    text = live.log_text()
    assert pattern.search(text), text[-2000:]
    assert "COOKIE-SECRET-VALUE" not in text
    assert "QUERY-SECRET" not in text


def test_gunicorns_control_socket_is_off(
    demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    with live_server(demo_template, tmp_path) as server:
        assert Installer(server.port).request("GET", "/login")[0] == 200
        assert not (tmp_path / ".gunicorn").exists()
        listening = Path("/proc/net/unix").read_text().split()
        assert not [path for path in listening if path.endswith("gunicorn.ctl")]
        assert "control socket" not in server.log_text().lower()


def test_a_second_server_on_the_same_data_directory_is_refused(live: Live):
    """It would take over the first one's gunicorn socket (and database and radio)."""
    second = subprocess.run(
        [
            hht_command(),
            "serve",
            "--data-dir",
            str(live.data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 2
    assert (
        "another hht serve" in second.stderr and "is serving this data directory" in second.stderr
    )
    assert Installer(live.port).request("GET", "/login")[0] == 200  # the first one goes on


def test_a_name_this_device_does_not_have_is_refused_at_the_front(live: Live):
    if not live.front_pids():
        pytest.skip("no front: the Host is checked by the app only")
    installer = Installer(live.port)
    status, body, _ = installer.request("GET", "/login", headers={"Host": "rebound.example:80"})
    assert status == front.UNKNOWN_HOST_STATUS
    assert body.decode().strip() == front.UNKNOWN_HOST_MESSAGE
    assert installer.request("GET", "/login", headers={"Host": f"localhost:{live.port}"})[0] == 200


def _get(live: Live, path: str, accept_encoding: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": accept_encoding})
        response = conn.getresponse()
        headers: dict[str, str] = {}
        for name, value in response.getheaders():  # a header sent twice: both values
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return response.status, headers, response.read()
    finally:
        conn.close()


def test_the_front_compresses_text_for_a_browser_that_takes_gzip(live: Live):
    if not live.front_pids():
        need_nginx()  # skipped when nginx is absent; else the server must have a front
        pytest.fail("nginx is installed but the server runs without its front")
    page = _get(live, "/login", "identity")[2].decode()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+\.(?:css|js)\?v=[0-9a-f]+)"', page)
    assert any(".css" in a for a in assets) and any(".js" in a for a in assets), page
    for path in ["/login", "/manifest.webmanifest", "/sw.js", *assets]:
        status, plain_headers, plain = _get(live, path, "identity")
        assert status == 200 and "content-encoding" not in plain_headers, path
        status, headers, packed = _get(live, path, "gzip, deflate, br")
        assert status == 200, path
        assert headers.get("content-encoding") == "gzip", (path, headers)
        assert "Accept-Encoding" in headers.get("vary", ""), (path, headers)
        assert len(packed) < len(plain), path
        if path != "/login":  # a page differs at every load (its CSRF token)
            assert gzip.decompress(packed) == plain, path


def test_the_installer_is_served_during_a_short_attack(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory
):
    """A reduced ``make attack`` (figures there; here only that every request is answered)."""
    with live_server(demo_template, tmp_path_factory.mktemp("attack")) as server:
        tabs = server.installer("127.0.0.7")
        siege = Siege(
            server.port,
            {
                "anonymous_sockets": 20,
                "logged_in_tabs": 8,
                "slow_clients": 16,
                "idle_connections": 50,
            },
        )
        siege.start(tabs.session_cookie())
        try:
            time.sleep(3)
            for _ in range(3):
                installer = server.installer()
                status, _, _ = installer.request("GET", f"/i/jobs/{_first_job(server)}/run")
                assert status == 200
        finally:
            siege.finish()
        assert siege.tally["anonymous_status_101"] == 0
        assert siege.tally["tab_status_101"] <= SOCKETS_PER_SESSION


def test_a_held_websocket_answers_pings(live: Live, held: list[socket.socket]):
    """The attack's own websocket keeps a logged-in socket open (the caps test relies on it)."""
    import threading

    cookie = live.installer("127.0.0.31").session_cookie()
    _wait_until_free(live, cookie, "127.0.0.31")
    answer = websocket_handshake(live.port, "127.0.0.31", cookie)
    assert answer.status == 101
    sock = answer.sock
    stop = threading.Event()
    thread = threading.Thread(target=hold_websocket, args=(sock, stop), daemon=True)
    thread.start()
    time.sleep(1)
    assert thread.is_alive()  # the server has not closed it
    stop.set()
    thread.join(5)
    sock.close()
