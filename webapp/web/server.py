"""Serving an app: nginx in front of gunicorn (one worker, threads), or Flask's server for dev.

Both take a factory that makes the app (``hht serve`` passes one that opens the station),
so under gunicorn the app is made in the worker that serves it, and the arbiter, which
only watches the worker (and the front), imports neither Flask nor the rest of the HHT.

With a front (:mod:`webapp.web.front`), gunicorn listens on a unix socket only and its
arbiter runs nginx as a child: started once the socket is bound, stopped first when the
server stops, and the whole server stops (exit status 3) if nginx ever exits by itself.
Without one, gunicorn listens on the address itself. Either way the app gets the socket
gate (:mod:`webapp.web.socket_gate`) in front of its Socket.IO.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from webapp.sdnotify import notify

if TYPE_CHECKING:
    from flask import Flask

    from webapp.web.tls import TlsFiles

log = logging.getLogger(__name__)

GRACEFUL_TIMEOUT_SECONDS = 10
#: gthread's main loop tells the arbiter it is alive every second, whatever the threads do
#: (a websocket may stay open for hours): a worker silent this long is stuck, and restarted.
#: Long enough for the worker to open the station on a slow Pi.
WORKER_TIMEOUT_SECONDS = 60
#: Without a front, how long an idle kept-alive connection waits in gunicorn's poller.
KEEPALIVE_SECONDS = 2
#: How long a stopping server lets the front finish the requests it is passing on.
FRONT_STOP_TIMEOUT_SECONDS = 5
#: The exit status when the front stopped by itself (systemd's Restart=on-failure restarts).
FRONT_EXIT_STATUS = 3
#: One line per request: the client (the front's X-Forwarded-For behind a front), the method,
#: the path without its query string, status, bytes and milliseconds. No cookies, no query
#: strings (Engine.IO's sid, search terms), no referrer, no user agent.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'

#: Under the data directory's run directory: held by the serving process for its life.
SERVE_LOCK_FILE = "serve.lock"

AppFactory = Callable[[], "Flask"]


class AlreadyServing(RuntimeError):
    """Another ``hht serve`` holds this data directory."""


def hold_serve_lock(run_dir: Path) -> int:
    """Lock ``<run>/serve.lock`` for as long as the returned descriptor stays open (across
    ``exec`` too: it is inheritable): one server per data directory, since a second would
    take over the first one's gunicorn socket (and its database and radio)."""
    import fcntl

    run_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(run_dir, 0o700)
    fd = os.open(run_dir / SERVE_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise AlreadyServing(
            f"another hht serve (pid {holder}) is serving this data directory"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    os.set_inheritable(fd, True)
    return fd


#: HTTP client libraries that python-engineio and python-socketio import, when installed,
#: for their client halves. The server never uses those; unloaded they save about 15 MiB.
SOCKETIO_CLIENT_LIBRARIES = ("aiohttp", "requests", "websocket")


def import_socketio_server_only() -> None:
    """Import Flask-SocketIO with its client-side libraries hidden, in a serving process.

    Only the import is affected: the libraries stay importable afterwards (a stick driver
    may use aiohttp); what the Socket.IO client classes would need is simply absent.
    """
    if "engineio" in sys.modules:
        return
    hidden = [name for name in SOCKETIO_CLIENT_LIBRARIES if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import flask_socketio  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name) is None:
                del sys.modules[name]


def release_free_heap() -> None:
    """Hand the C heap's free pages back to the system, once the worker's app is made.

    Making the app frees much of what its imports and set-up allocated, but glibc keeps
    freed pages inside its heaps mapped (and counted in the worker's resident memory) until
    ``malloc_trim`` returns them; about 1 MiB of an idle worker. Elsewhere than glibc,
    nothing is done.
    """
    import ctypes  # already loaded in the worker (python-dateutil imports it)

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def protect(app: Flask, threads: int, *, behind_front: bool) -> Flask:
    """The app as it is served: the socket gate before its Socket.IO, and behind a front
    the client's address and scheme taken from the front's headers (only the front can
    reach gunicorn's socket)."""
    from webapp.web.socket_gate import install

    install(app, threads)
    if behind_front:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    return app


def serve_dev(
    make_app: AppFactory, host: str, port: int, threads: int, tls: TlsFiles | None
) -> None:
    """Flask's development server (with Socket.IO), HTTPS when ``tls`` is given."""
    import_socketio_server_only()
    app = protect(make_app(), threads, behind_front=False)
    socketio = app.extensions["hht"].socketio
    notify("READY=1")
    extra: dict[str, Any] = {}
    if tls is not None:
        extra = {"certfile": str(tls.server_cert), "keyfile": str(tls.server_key)}
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False, **extra)


def gunicorn_bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def gunicorn_settings(
    bind: str, threads: int, tls: TlsFiles | None, *, behind_front: bool
) -> dict[str, Any]:
    """What gunicorn is told (besides the hooks)."""
    settings: dict[str, Any] = {
        "bind": bind,
        "workers": 1,  # one process owns the radio and the database writer
        "worker_class": "gthread",
        "threads": threads,
        "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
        "timeout": WORKER_TIMEOUT_SECONDS,
        "keepalive": KEEPALIVE_SECONDS,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        # gunicorn's admin socket: off (nothing here uses it, and a second server started
        # in the same directory would take over the first one's)
        "control_socket_disable": True,
    }
    if behind_front:
        settings["umask"] = 0o077  # the unix socket: the service's user (and so nginx) only
    if tls is not None:
        settings["certfile"] = str(tls.server_cert)
        settings["keyfile"] = str(tls.server_key)
    return settings


def serve_gunicorn(
    make_app: AppFactory,
    bind: str,
    threads: int,
    tls: TlsFiles | None,
    front: Sequence[str] | None = None,
) -> None:
    """Gunicorn with one worker (it owns the radio and the database writer) and threads,
    listening on ``bind``; with ``front`` (nginx's command line), gunicorn's arbiter runs
    that front and serves only through it."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.arbiter import Arbiter
    from gunicorn.errors import HaltServer

    behind_front = front is not None

    class FrontedArbiter(Arbiter):
        """gunicorn's arbiter, also starting, watching and stopping the front."""

        front_pid = 0

        def start_front(self, _arbiter: Arbiter) -> None:
            if front is not None:
                self.front_pid = spawn_front(front)
                self.log.info("Front started: %s (pid %s)", front[0], self.front_pid)

        def reap_workers(self) -> None:
            if self.front_pid and front_exited(self.front_pid):
                self.front_pid = 0
                raise HaltServer("the front (nginx) stopped", FRONT_EXIT_STATUS)
            super().reap_workers()

        def stop(self, graceful: bool = True) -> None:
            pid, self.front_pid = self.front_pid, 0
            if pid:
                stop_front(pid, graceful=graceful)
            super().stop(graceful)

    class HhtServer(BaseApplication):
        def load_config(self) -> None:
            settings = gunicorn_settings(bind, threads, tls, behind_front=behind_front)
            for key, value in settings.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            import_socketio_server_only()
            app = protect(make_app(), threads, behind_front=behind_front)
            release_free_heap()
            notify("READY=1")
            return app

        def run(self) -> None:
            arbiter = FrontedArbiter(self)
            # when_ready: gunicorn's socket is bound, so the front's first requests wait
            # in its backlog for the worker instead of failing
            self.cfg.set("when_ready", arbiter.start_front)
            arbiter.run()

    HhtServer().run()


# ------------------------------------------------------------------------- the front
def spawn_front(command: Sequence[str]) -> int:
    """Start the front in the foreground as a child; it dies with this process."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:  # the child: nothing of the arbiter's survives the exec
        os.closerange(3, _max_fd())
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        _die_with_parent()
        if os.getppid() != parent:
            os._exit(1)
        os.execv(command[0], list(command))
    except BaseException as exc:  # noqa: BLE001
        os.write(2, f"could not start the front {command[0]}: {exc}\n".encode())
    os._exit(127)


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (OSError, ValueError):
        return 1024


def _die_with_parent() -> None:
    """Linux: SIGTERM this (forked) process when its parent dies, so a killed arbiter
    leaves no nginx holding the port. Imported only in the child, before its exec."""
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def front_exited(pid: int) -> bool:
    """Whether the front (a child) has exited, reaping it if so."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True  # already reaped (gunicorn's reaper waits for any child)
    return done == pid


def stop_front(pid: int, *, graceful: bool) -> None:
    """Stop the front: gracefully (SIGQUIT: it finishes what it is passing on) within
    FRONT_STOP_TIMEOUT_SECONDS, else at once."""
    try:
        os.kill(pid, signal.SIGQUIT if graceful else signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + FRONT_STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if front_exited(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError as exc:
        if exc.errno not in (errno.ESRCH, errno.ECHILD):
            raise
