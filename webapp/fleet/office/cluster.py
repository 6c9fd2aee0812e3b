"""A throwaway PostgreSQL cluster: the fleet office's tests and ``make fleet`` run on one.

``initdb`` into a temporary directory, ``pg_ctl start`` listening only on a unix socket in
that directory (and on a loopback port chosen free), trust authentication for the owner,
and everything removed on :meth:`Cluster.stop`.  PostgreSQL refuses to run as root, so when
the caller is root the server runs as the ``postgres`` user (``runuser -u postgres --``)
with the directory handed to it.  The binaries are Debian's (``/usr/lib/postgresql/N/bin``,
N at least 15), or whatever ``pg_ctl`` is on the PATH.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MIN_VERSION = 15
DEBIAN_ROOT = Path("/usr/lib/postgresql")
RUN_AS = "postgres"
DATABASE = "fleet"
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30
COMMAND_TIMEOUT_SECONDS = 120


class ClusterError(RuntimeError):
    """The throwaway cluster cannot be made or started, with the reason."""


def find_bin_dir() -> Path:
    """Where ``initdb`` and ``pg_ctl`` of a PostgreSQL 15 or newer are."""
    candidates = sorted(
        (d for d in DEBIAN_ROOT.glob("*/bin") if d.parent.name.split(".")[0].isdigit()),
        key=lambda d: int(d.parent.name.split(".")[0]),
        reverse=True,
    )
    for directory in candidates:
        if (
            int(directory.parent.name.split(".")[0]) >= MIN_VERSION
            and (directory / "initdb").is_file()
        ):
            return directory
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise ClusterError(
        f"no PostgreSQL {MIN_VERSION} or newer found: run scripts/ensure-postgres.sh "
        "(Debian: apt-get install postgresql)"
    )


#: Where a cluster run as ``postgres`` may live: every folder on the way must let it through
#: (a root-only /tmp does not); tmpfs first, the cluster is thrown away anyway.
SHARED_PARENTS = (Path("/dev/shm"), Path("/var/tmp"))


def _others_can_reach(path: Path) -> bool:
    path = path.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in (path, *path.parents))


def parent_for(run_as: str | None, parent: Path | None) -> Path | None:
    """The folder to make the cluster's directory in (None: the system's temporary one)."""
    if parent is not None or run_as is None:
        return parent
    if _others_can_reach(Path(tempfile.gettempdir())):
        return None
    for candidate in SHARED_PARENTS:
        if candidate.is_dir() and _others_can_reach(candidate):
            return candidate
    raise ClusterError(
        f"no temporary folder the {run_as} user can reach: pass one whose every parent "
        "is searchable by others"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """A running throwaway cluster and its ``fleet`` database."""

    directory: Path
    port: int
    bin_dir: Path
    run_as: str | None

    @property
    def socket_dir(self) -> Path:
        return self.directory / "socket"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def user(self) -> str:
        return self.run_as or pwd.getpwuid(os.getuid()).pw_name

    def dsn(self, database: str = DATABASE) -> str:
        """A libpq URI over the unix socket."""
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}&port={self.port}"

    def tcp_dsn(self, database: str = DATABASE) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
            cwd="/",
        )
        if check and result.returncode != 0:
            raise ClusterError(f"{args[0]} failed: {(result.stderr or result.stdout).strip()}")
        return result

    @classmethod
    def start(cls, parent: Path | None = None, port: int | None = None) -> Cluster:
        """Make, start and give a ``fleet`` database to a new cluster."""
        bin_dir = find_bin_dir()
        run_as = RUN_AS if os.geteuid() == 0 else None
        directory = Path(tempfile.mkdtemp(prefix="hht-pg-", dir=parent_for(run_as, parent)))
        cluster = cls(directory, port or free_port(), bin_dir, run_as)
        cluster.socket_dir.mkdir()
        if run_as:
            entry = pwd.getpwnam(run_as)
            for path in (directory, cluster.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            os.chmod(directory, 0o700)
        try:
            cluster._run(
                "initdb",
                "-D",
                str(cluster.data_dir),
                "-U",
                cluster.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
            options = (
                f"-c listen_addresses=127.0.0.1 -p {cluster.port} "
                f"-c unix_socket_directories={cluster.socket_dir} -c fsync=off "
                "-c full_page_writes=off -c synchronous_commit=off -c max_connections=100"
            )
            cluster._run(
                "pg_ctl",
                "start",
                "-D",
                str(cluster.data_dir),
                "-w",
                "-t",
                str(START_TIMEOUT_SECONDS),
                "-l",
                str(cluster.directory / "server.log"),
                "-o",
                options,
            )
            cluster._run(
                "createdb",
                "-h",
                str(cluster.socket_dir),
                "-p",
                str(cluster.port),
                "-U",
                cluster.user,
                DATABASE,
            )
        except BaseException:
            cluster.stop()
            raise
        log.info("throwaway PostgreSQL on port %d in %s", cluster.port, directory)
        return cluster

    def restart(self) -> None:
        """Stop and start the server (the same data): a fault the sync must survive."""
        self._run(
            "pg_ctl",
            "restart",
            "-D",
            str(self.data_dir),
            "-w",
            "-m",
            "fast",
            "-l",
            str(self.directory / "server.log"),
        )

    def stop(self) -> None:
        """Stop the server and remove everything."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run(
                "pg_ctl",
                "stop",
                "-D",
                str(self.data_dir),
                "-m",
                "immediate",
                "-w",
                "-t",
                str(STOP_TIMEOUT_SECONDS),
                check=False,
            )
        shutil.rmtree(self.directory, ignore_errors=True)
