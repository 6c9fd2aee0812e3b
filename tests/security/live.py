"""A live ``hht serve`` (the front when nginx is installed, gunicorn, the app) for the
serving tests, on a copy of the demo data, and what they need to talk to it."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from webapp.bench.attack import Installer, running_server, serving_pids
from webapp.sim.demo import DEMO_INSTALLER
from webapp.web.front import find_nginx

NO_NGINX = (
    "nginx is not installed and could not be installed (scripts/ensure-nginx.sh, which "
    "'make test' runs, installs it as root with apt): the front is not tested"
)


def need_nginx() -> Path:
    nginx = find_nginx()
    if nginx is None:
        pytest.skip(NO_NGINX)
    return nginx


@dataclass
class Live:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def installer(self, address: str = "127.0.0.1") -> Installer:
        """A logged-in installer (a fresh session) from ``address``."""
        installer = Installer(self.port, address)
        installer.log_in(DEMO_INSTALLER[0], DEMO_INSTALLER[2])
        return installer

    def front_pids(self) -> list[int]:
        return serving_pids(self.proc.pid)[1]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def live_server(
    template: Path, workdir: Path, *, front: str = "auto", threads: int | None = None
) -> Iterator[Live]:
    data_dir = workdir / "data"
    shutil.copytree(template, data_dir)
    log = workdir / "server.log"
    with running_server(data_dir, front=front, threads=threads, log=log) as (port, proc):
        yield Live(port, proc, log, data_dir)
