"""The audit chain's HMAC key: 32 random bytes in ``<data>/audit/chain.key``, owner-only.

Made once, when the chain starts (schema m007, at ``hht init`` or the first open of an older
database) with :func:`webapp.files.write_private`.  Loading refuses a key whose file others
may read, as the terminal does for its other secrets, and a key that is missing while the
chain has events (a new key would make the whole history look forged).
"""

from __future__ import annotations

import logging
import secrets
import threading
import weakref
from pathlib import Path

from sqlite_utils import Database

from webapp.config import ensure_private_dir
from webapp.files import write_private

log = logging.getLogger(__name__)

AUDIT_DIR = "audit"
KEY_FILE = "chain.key"
KEY_BYTES = 32
#: Permission bits that let anyone but the owner near the key.
OTHERS_MASK = 0o077

_cache: weakref.WeakKeyDictionary[Database, bytes] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


class AuditKeyError(RuntimeError):
    """The audit chain's key is missing, unreadable or readable by others."""


def audit_dir(data_dir: Path) -> Path:
    return Path(data_dir) / AUDIT_DIR


def key_path(data_dir: Path) -> Path:
    return audit_dir(data_dir) / KEY_FILE


def create_key(data_dir: Path) -> bytes:
    """The key, made now (owner-only) if there is none yet."""
    path = key_path(data_dir)
    if path.exists():
        return load_key(data_dir)
    ensure_private_dir(audit_dir(data_dir))
    write_private(path, secrets.token_hex(KEY_BYTES).encode())
    log.info("audit chain key created in %s", path)
    return load_key(data_dir)


def load_key(data_dir: Path) -> bytes:
    """The key as the file holds it now; AuditKeyError when it cannot be used."""
    path = key_path(data_dir)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        raise AuditKeyError(
            f"the audit chain key {path} is missing: restore it from the terminal's backup "
            "of its data directory (without it the event log cannot be checked or extended)"
        ) from None
    if mode & OTHERS_MASK:
        raise AuditKeyError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise AuditKeyError(f"{path} does not hold an audit chain key: {exc}") from exc
    if len(key) != KEY_BYTES:
        raise AuditKeyError(f"{path} holds {len(key)} bytes, not {KEY_BYTES}")
    return key


def data_dir_of(db: Database) -> Path:
    """The data directory of ``db``'s main database file."""
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main" and row[2]:
            return Path(row[2]).parent
    raise AuditKeyError("the event log needs its database in a data directory, not in memory")


def key_for(db: Database) -> bytes:
    """The key of ``db``'s data directory, loaded (and checked) once per connection."""
    with _cache_lock:
        key = _cache.get(db)
    if key is None:
        key = load_key(data_dir_of(db))
        with _cache_lock:
            _cache[db] = key
    return key
