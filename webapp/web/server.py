"""Serving the app: gunicorn (one worker, threads) in production, Flask's server for dev."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from webapp.sdnotify import notify
from webapp.web.tls import TlsFiles

log = logging.getLogger(__name__)

GRACEFUL_TIMEOUT_SECONDS = 10


def serve_dev(
    data_dir: Path, host: str, port: int, radio: str, time_scale: float, tls: TlsFiles | None
) -> None:
    from webapp.web import create_app

    app = create_app(data_dir, radio=radio, time_scale=time_scale, secure_cookies=tls is not None)
    socketio = app.extensions["hht"].socketio
    notify("READY=1")
    extra: dict[str, Any] = {}
    if tls is not None:
        extra = {"certfile": str(tls.server_cert), "keyfile": str(tls.server_key)}
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False, **extra)


def serve_gunicorn(
    data_dir: Path,
    host: str,
    port: int,
    radio: str,
    time_scale: float,
    threads: int,
    tls: TlsFiles | None,
) -> None:
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
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):  # type: ignore[no-untyped-def]
            from webapp.web import create_app

            app = create_app(
                data_dir, radio=radio, time_scale=time_scale, secure_cookies=tls is not None
            )
            notify("READY=1")
            return app

    HhtServer().run()
