"""Where this HHT's fleet office is: ``hht fleet join URL [--ca FILE]``.

Kept in ``<data>/fleet/join.json`` (the address) and ``<data>/fleet/ca.pem`` (the CA the
terminal trusts for the fleet's HTTPS certificate, when it is not a public one).  Plain
HTTP is accepted only for a loopback address (tests, ``make fleet``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from webapp.config import ensure_private_dir
from webapp.files import write_private
from webapp.fleet.protocol import loopback_host

log = logging.getLogger(__name__)

FLEET_DIR = "fleet"
JOIN_FILE = "join.json"
CA_FILE = "ca.pem"
JOIN_FORMAT = "hht-fleet-join/1"
MAX_CA_BYTES = 256 * 1024


class JoinError(ValueError):
    """The fleet address or CA is not usable, with the reason."""


@dataclass(frozen=True)
class Joined:
    url: str  # scheme://host[:port], no trailing slash
    ca_file: Path | None
    joined_at: str


def check_url(url: str) -> str:
    """``url`` as the fleet's base address; JoinError when it cannot be one."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise JoinError(f"{url!r} is not an http(s) address of a fleet office")
    if parts.scheme == "http" and not loopback_host(parts.hostname):
        raise JoinError(
            f"{url!r}: plain HTTP is accepted only on this machine (loopback); "
            "use https:// (the fleet's own certificate, or a reverse proxy in front)"
        )
    if parts.query or parts.fragment or parts.username:
        raise JoinError(f"{url!r}: give only the scheme, host, port and path")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def join(data_dir: Path, url: str, ca: Path | None = None) -> Joined:
    """Keep the fleet's address (and the CA it trusts) in the data directory."""
    base = check_url(url)
    directory = ensure_private_dir(Path(data_dir) / FLEET_DIR)
    ca_path: Path | None = None
    if ca is not None:
        data = Path(ca).read_bytes()
        if len(data) > MAX_CA_BYTES or b"-----BEGIN CERTIFICATE-----" not in data:
            raise JoinError(f"{ca} is not a PEM CA certificate")
        import ssl

        try:
            ssl.create_default_context(cadata=data.decode("ascii"))
        except (ssl.SSLError, ValueError) as exc:
            raise JoinError(f"{ca} is not a usable CA certificate: {exc}") from None
        ca_path = directory / CA_FILE
        write_private(ca_path, data)
    elif (directory / CA_FILE).exists():
        (directory / CA_FILE).unlink()
    at = datetime.now(UTC).isoformat(timespec="seconds")
    body = {"format": JOIN_FORMAT, "url": base, "ca": CA_FILE if ca_path else None, "at": at}
    write_private(directory / JOIN_FILE, json.dumps(body, sort_keys=True).encode())
    log.info("joined the fleet office at %s", base)
    return Joined(base, ca_path, at)


def joined(data_dir: Path) -> Joined | None:
    """The fleet this HHT joined; None when it joined none."""
    directory = Path(data_dir) / FLEET_DIR
    try:
        body = json.loads((directory / JOIN_FILE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise JoinError(f"{directory / JOIN_FILE} is unreadable: {exc}") from None
    if not isinstance(body, dict) or body.get("format") != JOIN_FORMAT:
        raise JoinError(f"{directory / JOIN_FILE} is not a fleet join file")
    ca = directory / str(body["ca"]) if body.get("ca") else None
    return Joined(check_url(str(body["url"])), ca, str(body.get("at", "")))
