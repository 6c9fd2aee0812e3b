"""``make attack``: the HHT under a bounded denial-of-service attack on loopback, measured.

The real set-up (``hht serve``: the front, gunicorn and the app, on a demo data directory
made by ``hht init --demo``) is started on a free loopback port. For ``ATTACK_SECONDS`` at
least, from other loopback addresses (other devices on the van's Wi-Fi):

- anonymous websockets to ``/socket.io/?EIO=4&transport=websocket`` that send ``40`` and
  answer pings, coming back whenever they are turned away;
- one logged-in phone with many tabs, each a websocket that answers pings;
- slow clients, half trickling their request headers, half their bodies, a byte a second;
- idle TCP connections that send nothing, reopened whenever the server closes one.

Meanwhile an installer (127.0.0.1) logs in and loads the job page every second, each
request timed, and runs a job through the API as the browser does, until it completes.
Every figure is printed and returned (``make bench`` keeps them in its JSON); run alone,
this module exits 1 when an installer's request took longer than ``INSTALLER_LIMIT_SECONDS``
or failed, or the job did not complete. Every loop here is bounded in count and time, and
every connection goes to this machine's loopback.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import selectors
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ATTACK_SECONDS = 30.0  # at least: longer than the front's header timeout, so it shows
JOB_DEADLINE_SECONDS = 180.0  # the whole run stops by then, job done or not
SERVER_START_SECONDS = 60.0
TIME_SCALE = 200.0  # the simulated devices answer at once: the job takes seconds
ANONYMOUS_SOCKETS = 20
LOGGED_IN_TABS = 16
SLOW_CLIENTS = 16  # half trickle headers, half bodies
IDLE_CONNECTIONS = 200
INSTALLER_LIMIT_SECONDS = 2.0
INSTALLER_INTERVAL_SECONDS = 1.0
REQUEST_TIMEOUT_SECONDS = 15.0  # an installer's request that takes this long has failed
API_TIMEOUT_SECONDS = 130.0  # a connect may wait for the radio
TRICKLE_SECONDS = 1.0  # a slow client sends one byte this often
RETRY_SECONDS = 0.5  # a refused socket comes back after this
SLOW_BODY_BYTES = 100_000
HOST = "127.0.0.1"
INSTALLER_ADDRESS = "127.0.0.1"
ATTACKER_ADDRESS = "127.0.0.66"  # one hostile laptop on the Wi-Fi
TABS_ADDRESS = "127.0.0.7"  # a crew member's phone with too many tabs open
WEBSOCKET_PATH = "/socket.io/?EIO=4&transport=websocket"
FRONT_PROCESS_NAME = "nginx"


# ------------------------------------------------------------------ processes
def _rss_kib(pid: int) -> int:
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    with suppress(OSError):
        return [int(child) for child in path.read_text().split()]
    return []


def _is_front(pid: int) -> bool:
    with suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip() == FRONT_PROCESS_NAME
    return False


def serving_pids(arbiter: int) -> tuple[list[int], list[int]]:
    """The serving processes under ``hht serve``'s pid: (gunicorn's arbiter and worker,
    the front's processes)."""
    python = [arbiter]
    front: list[int] = []
    for child in _children(arbiter):
        if _is_front(child):
            front += [child, *_children(child)]
        else:
            python.append(child)
    return python, front


def rss_mib(pids: list[int]) -> float:
    return sum(_rss_kib(pid) for pid in pids) / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def hht_command() -> str:
    return str(Path(sys.executable).with_name("hht"))


def make_demo(data_dir: Path) -> None:
    """``hht init --demo``, as a person would run it."""
    subprocess.run(
        [hht_command(), "init", "--demo", "--data-dir", str(data_dir)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextmanager
def running_server(
    data_dir: Path,
    *,
    front: str = "auto",
    threads: int | None = None,
    log: Path | None = None,
    time_scale: float = TIME_SCALE,
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``hht serve`` on a free loopback port, answering ``/login``; stopped afterwards."""
    port = free_port()
    command = [
        hht_command(),
        "serve",
        "--data-dir",
        str(data_dir),
        "--host",
        HOST,
        "--port",
        str(port),
        "--time-scale",
        str(time_scale),
    ]
    if front != "auto":
        command += ["--front", front]
    if threads is not None:
        command += ["--threads", str(threads)]
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                if Installer(port).request("GET", "/login")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


# ------------------------------------------------------------------ the installer
class Installer:
    """A phone's browser, from its own address: cookies, the CSRF token, timed requests."""

    def __init__(self, port: int, address: str = INSTALLER_ADDRESS) -> None:
        self.port = port
        self.address = address
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
    ) -> tuple[int, bytes, float]:
        """(status, body, seconds); raises OSError on a timeout or a refused connection."""
        conn = http.client.HTTPConnection(
            HOST, self.port, timeout=timeout, source_address=(self.address, 0)
        )
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        seconds = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        match = re.search(rb'name="csrf-token" content="([^"]+)"', data)
        if match:
            self.csrf = match.group(1).decode()
        return response.status, data, seconds

    def log_in(self, username: str, secret: str) -> tuple[float, float]:
        """A fresh login: (seconds for the login page, seconds for the form's answer)."""
        self.cookies.clear()
        status, _, page = self.request("GET", "/login?role=installer")
        if status != 200:
            raise OSError(f"the login page answered {status}")
        form = urllib.parse.urlencode(
            {
                "username": username,
                "secret": secret,
                "role": "installer",
                "csrf_token": self.csrf,
            }
        ).encode()
        status, _, post = self.request(
            "POST",
            "/login?role=installer",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 302:
            raise OSError(f"logging in answered {status}")
        return page, post

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Content-Type": "application/json", "X-CSRF-Token": self.csrf}
        data = json.dumps(body or {}).encode() if method == "POST" else None
        status, answer, _ = self.request(method, path, data, headers, timeout=API_TIMEOUT_SECONDS)
        if status >= 400:
            raise OSError(f"{method} {path} answered {status}: {answer[:200]!r}")
        return json.loads(answer)

    def session_cookie(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


# ------------------------------------------------------------------ websockets
def _frame(payload: bytes, opcode: int = 1) -> bytes:
    """A masked client frame (RFC 6455) carrying ``payload``."""
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    if len(payload) < 126:
        head += bytes([0x80 | len(payload)])
    else:
        head += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _read_frame(sock: socket.socket) -> tuple[int, bytes]:
    first, second = _read_exact(sock, 2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", _read_exact(sock, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", _read_exact(sock, 8))[0]
    return first & 0x0F, _read_exact(sock, length)


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@dataclass
class Handshake:
    """The answer to a websocket upgrade: its status, the connection, what was read."""

    status: int
    sock: socket.socket
    head: bytes

    def refusal_text(self) -> str:
        """The body of a refusal (by its Content-Length)."""
        head, _, body = self.head.partition(b"\r\n\r\n")
        match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        length = int(match.group(1)) if match else 0
        self.sock.settimeout(5)
        while len(body) < length:
            chunk = self.sock.recv(length - len(body))
            if not chunk:
                break
            body += chunk
        return body.decode(errors="replace")


def websocket_handshake(
    port: int, address: str, cookie: str | None = None, timeout: float = 10.0
) -> Handshake:
    """Ask to upgrade to a Socket.IO websocket from ``address`` (with a session cookie)."""
    sock = socket.create_connection((HOST, port), timeout=timeout, source_address=(address, 0))
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {WEBSOCKET_PATH} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Origin: http://{HOST}:{port}",
    ]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = _read_head(sock)
    except OSError:
        sock.close()
        raise
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return Handshake(int(match.group(1)) if match else 0, sock, head)


def hold_websocket(sock: socket.socket, stop: threading.Event, *, say_hello: bool = True) -> None:
    """Keep an upgraded Socket.IO websocket alive: ``40``, then answer every ping."""
    sock.settimeout(1.0)
    if say_hello:
        sock.sendall(_frame(b"40"))
    while not stop.is_set():
        try:
            opcode, payload = _read_frame(sock)
        except TimeoutError:
            continue
        except OSError:
            return
        if opcode == 8:  # close
            return
        if opcode == 9:  # a websocket ping
            sock.sendall(_frame(payload, opcode=10))
        elif payload == b"2":  # Engine.IO's ping
            sock.sendall(_frame(b"3"))


# ------------------------------------------------------------------ the attack
class Siege:
    """The attackers, each a thread, bounded by ``stop`` (and daemon threads)."""

    def __init__(self, port: int, counts: dict[str, int]) -> None:
        self.port = port
        self.counts = counts
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.tally: Counter[str] = Counter()
        self.lived: dict[str, list[float]] = {"slow_header": [], "slow_body": [], "idle": []}
        self._threads: list[threading.Thread] = []

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.tally[what] += n

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def start(self, tab_cookie: str) -> None:
        for _ in range(self.counts["anonymous_sockets"]):
            self._spawn(self._socket, "anonymous", ATTACKER_ADDRESS, None)
        for _ in range(self.counts["logged_in_tabs"]):
            self._spawn(self._socket, "tab", TABS_ADDRESS, tab_cookie)
        for n in range(self.counts["slow_clients"]):
            self._spawn(self._slow_headers if n % 2 == 0 else self._slow_body)
        self._spawn(self._idle, self.counts["idle_connections"])

    def finish(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _socket(self, kind: str, address: str, cookie: str | None) -> None:
        while not self.stop.is_set():
            try:
                answer = websocket_handshake(self.port, address, cookie)
            except OSError:
                self.count(f"{kind}_connect_failed")
                self.stop.wait(RETRY_SECONDS)
                continue
            self.count(f"{kind}_status_{answer.status}")
            with answer.sock:
                if answer.status == 101:
                    hold_websocket(answer.sock, self.stop)
                    if not self.stop.is_set():
                        self.count(f"{kind}_closed_by_server")
            self.stop.wait(RETRY_SECONDS)

    def _slow_headers(self) -> None:
        head = f"GET /login HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
        self._trickle(head, b"X", "slow_header")  # one byte of a header line, never ended

    def _slow_body(self) -> None:
        head = (
            f"POST /login HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {SLOW_BODY_BYTES}\r\n\r\n"
        )
        self._trickle(head, b"a", "slow_body")

    def _trickle(self, head: str, byte: bytes, kind: str) -> None:
        """Send ``head``, then ``byte`` whenever the server has said nothing for a while,
        until the server answers or closes; again, until the attack stops."""
        while not self.stop.is_set():
            opened = time.monotonic()
            try:
                sock = socket.create_connection(
                    (HOST, self.port), timeout=TRICKLE_SECONDS, source_address=(ATTACKER_ADDRESS, 0)
                )
            except OSError:
                self.count("slow_connect_failed")
                self.stop.wait(RETRY_SECONDS)
                continue
            with sock:
                try:
                    sock.sendall(head.encode())
                    while not self.stop.is_set():
                        try:
                            sock.recv(4096)  # closed, or an answer (408): done with it
                            break
                        except TimeoutError:
                            sock.sendall(byte)
                except OSError:
                    pass
            if not self.stop.is_set():
                self.lived[kind].append(time.monotonic() - opened)
                self.count(f"{kind}_cut_off")

    def _idle(self, n: int) -> None:
        """``n`` connections that say nothing, each reopened when the server closes it."""
        selector = selectors.DefaultSelector()

        def open_one() -> None:
            try:
                sock = socket.create_connection(
                    (HOST, self.port), timeout=5, source_address=(ATTACKER_ADDRESS, 0)
                )
            except OSError:
                self.count("idle_connect_failed")
                return
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, time.monotonic())
            self.count("idle_opened")

        for _ in range(n):
            open_one()
        try:
            while not self.stop.is_set():
                for key, _ in selector.select(timeout=0.5):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    try:
                        data = sock.recv(4096)
                    except OSError:
                        data = b""
                    if data:
                        continue  # an answer (408): the close follows
                    selector.unregister(sock)
                    sock.close()
                    self.lived["idle"].append(time.monotonic() - key.data)
                    self.count("idle_closed_by_server")
                    open_one()
                missing = n - len(selector.get_map())
                for _ in range(missing):
                    open_one()
        finally:
            for key in list(selector.get_map().values()):
                key.fileobj.close()  # type: ignore[union-attr]
            selector.close()


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(values),
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def _hub_of(data_dir: Path, job_id: str) -> str:
    from webapp.store.db import Store

    store = Store.open(data_dir)
    try:
        return store.reader()["jobs"].get(job_id)["expected_hub_id"]
    finally:
        store.close()


def _first_job(data_dir: Path, username: str) -> str:
    from webapp.store.db import Store

    store = Store.open(data_dir)
    try:
        row = store.reader().execute(
            "SELECT jobs.id FROM jobs JOIN users ON users.id = jobs.assignee_id "
            "WHERE users.username = ? ORDER BY jobs.id LIMIT 1",
            [username],
        )
        return row.fetchone()[0]
    finally:
        store.close()


def attack_figures(
    data_dir: Path | None = None,
    *,
    front: str = "auto",
    seconds: float = ATTACK_SECONDS,
    counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Run the attack against a fresh demo server; return every figure."""
    from webapp.sim.demo import DEMO_INSTALLER

    counts = counts or {
        "anonymous_sockets": ANONYMOUS_SOCKETS,
        "logged_in_tabs": LOGGED_IN_TABS,
        "slow_clients": SLOW_CLIENTS,
        "idle_connections": IDLE_CONNECTIONS,
    }
    with tempfile.TemporaryDirectory() as tmp:
        if data_dir is None:
            data_dir = Path(tmp) / "data"
            make_demo(data_dir)
        job_id = _first_job(data_dir, DEMO_INSTALLER[0])
        hub = _hub_of(data_dir, job_id)
        with running_server(data_dir, front=front, log=Path(tmp) / "server.log") as (port, proc):
            python, front_pids = serving_pids(proc.pid)
            idle_rss = {"arbiter_and_worker_mib": rss_mib(python), "front_mib": rss_mib(front_pids)}
            tabs = Installer(port, TABS_ADDRESS)
            tabs.log_in(DEMO_INSTALLER[0], DEMO_INSTALLER[2])
            siege = Siege(port, counts)
            siege.start(tabs.session_cookie())
            try:
                figures = _installer_under_attack(
                    port, proc.pid, job_id, hub, seconds, DEMO_INSTALLER
                )
            finally:
                siege.finish()
            log_lines = (Path(tmp) / "server.log").read_text(errors="replace").splitlines()
    figures.update(
        {
            "front": "nginx" if front_pids else "none",
            "attack": counts,
            "attackers": dict(sorted(siege.tally.items())),
            "slow_header_lived_s_max": max(siege.lived["slow_header"], default=0.0),
            "slow_body_lived_s_max": max(siege.lived["slow_body"], default=0.0),
            "idle_lived_s_max": max(siege.lived["idle"], default=0.0),
            "rss_idle_mib": idle_rss,
            "limit_s": INSTALLER_LIMIT_SECONDS,
            "server_log_lines": len(log_lines),
        }
    )
    return figures


def _installer_under_attack(
    port: int, arbiter: int, job_id: str, hub: str, seconds: float, who: tuple[str, ...]
) -> dict[str, Any]:
    """Log in and load the job page every second; start the job and see it through."""
    started = time.monotonic()
    login_pages: list[float] = []
    logins: list[float] = []
    job_pages: list[float] = []
    failures: list[str] = []
    peak = {"arbiter_and_worker_mib": 0.0, "front_mib": 0.0}
    job_status = "not started"
    job_seconds = None
    installer = Installer(port)
    time.sleep(2 * TRICKLE_SECONDS)  # let the attackers settle in
    while True:
        round_started = time.monotonic()
        try:
            page, post = installer.log_in(who[0], who[2])
            login_pages.append(page)
            logins.append(post)
            status, _, took = installer.request("GET", f"/i/jobs/{job_id}/run")
            job_pages.append(took)
            if status != 200:
                failures.append(f"job page answered {status}")
            if job_status == "not started":
                installer.api("POST", f"/api/jobs/{job_id}/sim/power-cycle")
                installer.api("POST", f"/api/jobs/{job_id}/scan")
                installer.api("POST", f"/api/jobs/{job_id}/connect", {"hub_id": hub})
                installer.api("POST", f"/api/jobs/{job_id}/start")
                job_status = "running"
                job_started = time.monotonic()
            elif job_status in ("running", "ready"):
                snap = installer.api("GET", f"/api/jobs/{job_id}")
                job_status = snap["job"]["status"]
                if snap["live"].get("action") == "wake-gsme":
                    installer.api("POST", f"/api/jobs/{job_id}/sim/wake-gsme")
                if job_status not in ("running", "ready"):
                    job_seconds = time.monotonic() - job_started
        except OSError as exc:
            failures.append(str(exc) or type(exc).__name__)
        python, front_pids = serving_pids(arbiter)
        peak["arbiter_and_worker_mib"] = max(peak["arbiter_and_worker_mib"], rss_mib(python))
        peak["front_mib"] = max(peak["front_mib"], rss_mib(front_pids))
        elapsed = time.monotonic() - started
        job_over = job_status not in ("not started", "running", "ready")
        if (job_over and elapsed >= seconds) or elapsed >= JOB_DEADLINE_SECONDS:
            break
        time.sleep(max(0.0, INSTALLER_INTERVAL_SECONDS - (time.monotonic() - round_started)))
    every = login_pages + logins + job_pages
    return {
        "seconds": time.monotonic() - started,
        "login_page": _summary(login_pages),
        "login": _summary(logins),
        "job_page": _summary(job_pages),
        "installer_requests": len(every),
        "installer_over_limit": sum(1 for t in every if t > INSTALLER_LIMIT_SECONDS),
        "installer_failures": failures,
        "job_id": job_id,
        "job_status": job_status,
        "job_seconds": job_seconds,
        "rss_under_attack_peak_mib": peak,
    }


def verdict(figures: dict[str, Any]) -> list[str]:
    """What went wrong for the installer (empty when nothing did)."""
    problems = []
    if figures["installer_over_limit"]:
        problems.append(
            f"{figures['installer_over_limit']} of the installer's requests took longer "
            f"than {figures['limit_s']:.0f} s"
        )
    if figures["installer_failures"]:
        problems.append(f"the installer's requests failed: {figures['installer_failures'][:5]}")
    if figures["job_status"] != "completed":
        problems.append(f"the job ended {figures['job_status']!r}, not completed")
    return problems


def print_figures(f: dict[str, Any]) -> None:
    def line(name: str, s: dict[str, Any]) -> str:
        if not s.get("n"):
            return f"  {name:22} none"
        return (
            f"  {name:22} {s['n']:4} requests: median {s['median_ms']:7.1f} ms, "
            f"p95 {s['p95_ms']:7.1f} ms, max {s['max_ms']:7.1f} ms"
        )

    a = f["attack"]
    print(
        f"Under attack ({f['front']} in front; {a['anonymous_sockets']} anonymous websockets, "
        f"{a['logged_in_tabs']} logged-in tabs, {a['slow_clients']} slow clients, "
        f"{a['idle_connections']} idle connections) for {f['seconds']:.0f} s:"
    )
    print(line("login page", f["login_page"]))
    print(line("login (form sent)", f["login"]))
    print(line("job page", f["job_page"]))
    print(
        f"  over {f['limit_s']:.0f} s: {f['installer_over_limit']} of "
        f"{f['installer_requests']}; failed: {len(f['installer_failures'])}; job "
        f"{f['job_id']} {f['job_status']}"
        + (f" in {f['job_seconds']:.1f} s" if f["job_seconds"] else "")
    )
    print(f"  attackers: {f['attackers']}")
    print(
        f"  slow header clients cut off after at most {f['slow_header_lived_s_max']:.1f} s; "
        f"idle connections closed after at most {f['idle_lived_s_max']:.1f} s"
    )
    idle, peak = f["rss_idle_mib"], f["rss_under_attack_peak_mib"]
    print(
        f"  RSS idle: arbiter + worker {idle['arbiter_and_worker_mib']:.1f} MiB, front "
        f"{idle['front_mib']:.1f} MiB; under attack (peak): {peak['arbiter_and_worker_mib']:.1f}"
        f" MiB and {peak['front_mib']:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--front", choices=("auto", "nginx", "none"), default="auto")
    parser.add_argument("--seconds", type=float, default=ATTACK_SECONDS)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    figures = attack_figures(args.data_dir, front=args.front, seconds=args.seconds)
    print_figures(figures)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2))
    problems = verdict(figures)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
