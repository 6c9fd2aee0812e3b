"""``hht fleet serve``: migrate, make partitions ahead, then serve the app.

HTTPS with the fleet's own certificate (``--cert``/``--key``), or plain HTTP on loopback
(tests, ``make fleet``) or behind a reverse proxy that ends HTTPS (``--behind-proxy``).
The app is served by gunicorn (threads), as the HHT's is.
"""

from __future__ import annotations

import logging
import threading

from webapp.fleet.protocol import loopback_host
from webapp.identity import SigningIdentity

log = logging.getLogger(__name__)

#: Partitions are made ahead this often while the server runs.
PARTITIONS_EVERY_SECONDS = 24 * 3600.0
THREADS = 8
#: Processes at most (each with its own pool; one HHT's batches lock its row, so any process
#: may take any batch).
MAX_WORKERS = 32
GRACEFUL_TIMEOUT_SECONDS = 10


class ServeError(RuntimeError):
    """The fleet office cannot start, with the reason."""


def _partitions_daily(dsn: str, stop: threading.Event) -> None:
    import psycopg

    from webapp.fleet.office.schema import ensure_ahead

    while not stop.wait(PARTITIONS_EVERY_SECONDS):
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                ensure_ahead(conn)
        except psycopg.Error:
            log.exception("making partitions ahead failed")


def serve(
    dsn: str,
    host: str,
    port: int,
    *,
    cert: str | None = None,
    key: str | None = None,
    behind_proxy: bool = False,
    signer: SigningIdentity,
    workers: int = 1,
) -> None:
    if not 1 <= workers <= MAX_WORKERS:
        raise ServeError(f"--workers must be 1 to {MAX_WORKERS}")
    if (cert is None) != (key is None):
        raise ServeError("give both --cert and --key, or neither")
    if cert is None and not behind_proxy and not loopback_host(host):
        raise ServeError(
            f"plain HTTP on {host} is refused: give --cert and --key, or --behind-proxy when "
            "a reverse proxy in front ends HTTPS"
        )
    from gunicorn.app.base import BaseApplication

    from webapp.fleet.office.db import open_pool
    from webapp.fleet.office.schema import migrate
    from webapp.fleet.office.web.app import create_fleet_app

    migrate(dsn)
    stop = threading.Event()
    state: dict[str, object] = {}

    class FleetServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings = {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": THREADS,
                "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
                "accesslog": "-",
                "certfile": cert,
                "keyfile": key,
            }
            for name, value in settings.items():
                if value is not None:
                    self.cfg.set(name, value)

        def load(self):  # type: ignore[no-untyped-def]
            pool = open_pool(dsn)
            state["pool"] = pool
            threading.Thread(
                target=_partitions_daily, args=(dsn, stop), daemon=True, name="partitions"
            ).start()
            return create_fleet_app(pool, signer, secure_cookies=cert is not None or behind_proxy)

    scheme = "https" if cert else "http"
    log.info("fleet office on %s://%s:%d/", scheme, host, port)
    try:
        FleetServer().run()
    finally:
        stop.set()
