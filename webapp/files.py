"""Files the HHT writes: owner-only, and those that hold secrets whole or not at all.

Every ``hht`` command (and so the server) starts with :func:`restrict_umask`, so whatever
it creates in the data directory (the database, its WAL, backups, unloads, the
simulator's database, captures, keys) is the owner's alone whatever umask it was started
under; files whose mode matters most are also created with it explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
PRIVATE_UMASK = 0o077  # group and others get nothing of what the process creates


def restrict_umask() -> int:
    """From now on this process creates owner-only files; returns the umask it had."""
    return os.umask(PRIVATE_UMASK)


@contextmanager
def private_umask() -> Iterator[None]:
    """Owner-only while a library creates a file whose mode it chooses (SQLite's
    ``VACUUM INTO``, say); the umask is put back afterwards. The umask is the whole
    process's: for a command's own thread, not a server's request threads."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def private_dir(path: Path) -> Path:
    """``path``, and any parents it lacks, made owner-only (0700) whatever the umask."""
    target = Path(path)
    missing, ancestor = [], target
    while not ancestor.exists() and ancestor != ancestor.parent:
        missing.append(ancestor)
        ancestor = ancestor.parent
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        os.chmod(directory, PRIVATE_DIR_MODE)
    return target


def create_private(path: Path) -> Path:
    """Make ``path`` an empty owner-only file unless it exists (for a file a library will
    open and fill: SQLite gives a database's WAL and shared memory the database's mode)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    return Path(path)


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, readable by the owner only.

    The bytes go to a temporary file beside ``path`` (created mode 0600), are fsynced, and
    the file is renamed over ``path``: a reader sees the old content or all of the new.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, PRIVATE_FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (where the platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
