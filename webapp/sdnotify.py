"""systemd's notify protocol (READY, WATCHDOG, STATUS), without a dependency."""

from __future__ import annotations

import os
import socket

WATCHDOG_USEC_ENV = "WATCHDOG_USEC"


def notify(state: str) -> bool:
    """Send ``state`` to systemd; False when not running under a notify unit."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(state.encode())
    return True


def watchdog_interval() -> float | None:
    """Half the unit's WatchdogSec, in seconds, or None when no watchdog is set."""
    usec = os.environ.get(WATCHDOG_USEC_ENV)
    if not usec:
        return None
    return int(usec) / 1_000_000 / 2
