"""The process ``hht serve`` becomes: the web server, with as little loaded as it can be.

``hht serve`` checks its options and prints the address (click, segno), then replaces
itself with ``python -P -m webapp.cli.serving SETTINGS`` (the same process id, so systemd
keeps following it). Under gunicorn that process is the arbiter, which only watches the
worker: it imports gunicorn and :mod:`webapp.web.server`, and nothing of click, Flask or
the HHT. The worker it forks makes the app, and with it the station, itself. With a front,
``hht serve`` has written nginx's configuration and hands the serving process nginx's
command line, which gunicorn's arbiter runs (:mod:`webapp.web.server`).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from flask import Flask


#: glibc gives each thread that allocates its own arena, and keeps what it freed there: the
#: worker's threads each kept a login's scrypt buffer (peak 280 MiB under ``make attack``,
#: 150 MiB with two arenas). Small objects come from Python's own allocator anyway.
MALLOC_ARENAS_ENV = "MALLOC_ARENA_MAX"
MALLOC_ARENAS = 2


@dataclass(frozen=True)
class ServeSettings:
    """What ``hht serve`` was asked for, as the serving process needs it."""

    data_dir: str
    host: str
    port: int
    radio: str
    threads: int
    time_scale: float
    tls_dir: str | None  # HTTPS with the certificate there, else plain HTTP
    #: nginx's command line when it serves in front (it listens on host:port and
    #: terminates HTTPS; gunicorn then listens on ``upstream``, a unix socket), else None
    front: list[str] | None = None
    upstream: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        return cls(**json.loads(text))


def serve(settings: ServeSettings, *, dev: bool = False) -> None:
    """Serve in this process: gunicorn (one worker, threads), or Flask's server with ``dev``."""
    from webapp.web.server import gunicorn_bind, serve_dev, serve_gunicorn
    from webapp.web.tls import TlsFiles

    tls = TlsFiles(Path(settings.tls_dir)) if settings.tls_dir else None

    def make_app() -> Flask:
        # In the serving process: under gunicorn the worker, after the fork, so the radio
        # and the database belong to the process that serves them.
        from webapp.station import open_app

        return open_app(
            Path(settings.data_dir),
            radio=settings.radio,
            time_scale=settings.time_scale,
            secure_cookies=tls is not None,
        )

    if dev:
        serve_dev(make_app, settings.host, settings.port, settings.threads, tls)
    elif settings.front is not None and settings.upstream is not None:
        # nginx terminates HTTPS; gunicorn speaks plain HTTP on its private socket
        serve_gunicorn(
            make_app, f"unix:{settings.upstream}", settings.threads, None, settings.front
        )
    else:
        bind = gunicorn_bind(settings.host, settings.port)
        serve_gunicorn(make_app, bind, settings.threads, tls)


def become_server(settings: ServeSettings) -> NoReturn:
    """Replace this process with the serving process (``-P``: no current directory on the
    module path, so only the installed HHT is imported), with few malloc arenas."""
    sys.stdout.flush()
    sys.stderr.flush()
    python = sys.executable
    env = {MALLOC_ARENAS_ENV: str(MALLOC_ARENAS), **os.environ}
    os.execve(python, [python, "-P", "-m", "webapp.cli.serving", settings.to_json()], env)


if __name__ == "__main__":
    serve(ServeSettings.from_json(sys.argv[1]))
