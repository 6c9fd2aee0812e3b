"""Serving an app: gunicorn (one worker, threads) in production, Flask's server for dev.

Both take a factory that makes the app (``hht serve`` passes one that opens the station),
so under gunicorn the app is made in the worker that serves it, and the arbiter, which
only watches the worker, imports neither Flask nor the rest of the HHT.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from webapp.sdnotify import notify

if TYPE_CHECKING:
    from flask import Flask

    from webapp.web.tls import TlsFiles

log = logging.getLogger(__name__)

GRACEFUL_TIMEOUT_SECONDS = 10

AppFactory = Callable[[], "Flask"]

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


def serve_dev(make_app: AppFactory, host: str, port: int, tls: TlsFiles | None) -> None:
    """Flask's development server (with Socket.IO), HTTPS when ``tls`` is given."""
    import_socketio_server_only()
    app = make_app()
    socketio = app.extensions["hht"].socketio
    notify("READY=1")
    extra: dict[str, Any] = {}
    if tls is not None:
        extra = {"certfile": str(tls.server_cert), "keyfile": str(tls.server_key)}
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False, **extra)


def serve_gunicorn(
    make_app: AppFactory, host: str, port: int, threads: int, tls: TlsFiles | None
) -> None:
    """Gunicorn with one worker (it owns the radio and the database writer) and threads."""
    from gunicorn.app.base import BaseApplication

    class HhtServer(BaseApplication):
        def load_config(self) -> None:
            settings: dict[str, Any] = {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": 1,  # one process owns the radio and the database writer
                "worker_class": "gthread",
                "threads": threads,
                "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
                "timeout": 0,  # websockets stay open; systemd's watchdog guards liveness
                "accesslog": None,
            }
            if tls is not None:
                settings["certfile"] = str(tls.server_cert)
                settings["keyfile"] = str(tls.server_key)
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn 27's admin socket in $HOME: nothing here uses it
                settings["control_socket_disable"] = True
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            import_socketio_server_only()
            app = make_app()
            notify("READY=1")
            return app

    HhtServer().run()
