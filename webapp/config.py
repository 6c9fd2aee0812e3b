"""Where the HHT keeps its data, and the settings it reads from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DATA_DIR_ENV = "HHT_DATA_DIR"
DEFAULT_DATA_DIR = Path("./var")
SECRET_KEY_FILE = "secret_key"
SIM_DIR = "sim"
CAPTURES_DIR = "captures"  # each job's radio capture (pcapng), by job
RADIO_STATE_DIR = "radio"  # the simulated stick's frame counters, as a stick keeps them
PKI_DIR = "pki"


def resolve_data_dir(option: str | os.PathLike | None = None) -> Path:
    """``--data-dir`` wins, then ``HHT_DATA_DIR``, then ``./var``."""
    if option:
        return Path(option).resolve()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).resolve()
    return DEFAULT_DATA_DIR.resolve()


def ensure_private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def secret_key(data_dir: Path) -> bytes:
    """The session-signing key, made once per device and kept owner-only."""
    path = data_dir / SECRET_KEY_FILE
    if not path.exists():
        ensure_private_dir(data_dir)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
