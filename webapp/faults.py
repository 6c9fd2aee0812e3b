"""Named points in the command life cycle where a test can pull the plug.

``HHT_KILL_AT=point`` (or ``point:n`` for its n-th pass) makes the process
SIGKILL itself there: the crash tests use it to prove that nothing is lost
and nothing is executed twice whatever instant the power goes.  When the
variable is unset a checkpoint costs one comparison.
"""

from __future__ import annotations

import os
import signal

KILL_ENV = "HHT_KILL_AT"

#: Every checkpoint the runner passes, in life-cycle order.  Each send of a command
#: passes the first three once, and each message from the hub the last three once
#: (``response-acked`` while the link is up), whatever the order they race in.
POINTS = (
    "intent-committed",  # attempt n recorded, bytes not yet handed to the radio
    "sent",  # the radio took the bytes, "delivered" not yet recorded
    "delivered-committed",  # "delivered" recorded (or the answer, if it came first)
    "response-received",  # bytes from the hub in memory, nothing stored yet
    "response-committed",  # stored, not yet acknowledged to the hub
    "response-acked",  # acknowledged: the hub no longer holds it
)


def _parse(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    name, _, count = value.partition(":")
    return name, int(count or 1)


_target = _parse(os.environ.get(KILL_ENV))
_passes: dict[str, int] = {}


def checkpoint(name: str) -> None:
    """Die here if this is the pass the test asked for."""
    if _target is None or _target[0] != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] == _target[1]:
        os.kill(os.getpid(), signal.SIGKILL)
