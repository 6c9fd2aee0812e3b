"""What opens a closed hub at this home: the words the installer gets on the doorstep.

A hub heard but not taking a terminal has its pairing (Inter-PAN) window closed. On a
freshly powered hub, at an install, power-cycling reopens it. At an installed home
(a maintenance visit) the seed (minutes 3.8) proposes other ways, read by this project as:
the installer's PIN on the electricity or gas meter's installer menu, which asks the hub to
open its window for :data:`MENU_WINDOW_SECONDS`; or the hub opening it by itself once its
WAN has been down for a while. Power-cycling stays the last resort there: the home's meters
lose their link to the supplier while the hub restarts.

The visit's PIN appears only in :func:`meter_menu_steps`, which the assigned installer's
hub page shows; nothing here that is logged carries it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

INSTALL = "install"
MAINTENANCE = "maintenance"
JOB_KINDS = (INSTALL, MAINTENANCE)
KIND_LABELS = {INSTALL: "Installation", MAINTENANCE: "Maintenance visit"}
#: How long a meter's installer menu opens the hub's window for (this project's figure).
MENU_WINDOW_SECONDS = 30 * 60.0
#: How long a hub with the no-WAN policy waits before it opens its window by itself.
NO_WAN_WAIT_MINUTES = 10
MENU_TRIES = 3
MENU_LOCK_MINUTES = 10

MAINTENANCE_WINDOW_CLOSED = (
    "The hub is installed and no longer takes a new terminal: its pairing window is closed. "
    "Open it from the electricity meter's installer menu (the gas meter has the same menu) "
    "with this visit's installer PIN: the steps are on the hub page. If the hub has no WAN "
    f"signal it opens the window by itself after about {NO_WAN_WAIT_MINUTES} minutes: wait "
    "and scan again. Power-cycling the hub is the last resort: the home's smart meters lose "
    "their link to the supplier while it restarts, and it may not be allowed."
)
POWER_CYCLE_CONSEQUENCE = (
    "Last resort: switch the hub off and on. While it restarts the home's smart meters lose "
    "their link to the supplier (no readings, no top-ups); your company may not allow it at "
    "an installed home."
)


def is_maintenance(job: dict[str, Any]) -> bool:
    return job.get("kind") == MAINTENANCE


def window_closed_instruction(job: dict[str, Any]) -> str | None:
    """The instruction for a closed window at this job's home (None: the usual one)."""
    return MAINTENANCE_WINDOW_CLOSED if is_maintenance(job) else None


def meter_menu_steps(pin: str | None) -> list[str]:
    """The meter's installer menu, step by step in plain words, with the visit's PIN."""
    typed = (
        f"Type the visit PIN {pin} and press OK."
        if pin
        else (
            "Type the installer PIN for this visit (ask the office: the work pack has none) and "
            "press OK."
        )
    )
    return [
        "Go to the electricity meter. Press its menu button until the display shows "
        "INSTALLER MENU, then press OK.",
        typed,
        "Choose OPEN HUB PAIRING and press OK. The display shows WINDOW OPEN "
        f"{int(MENU_WINDOW_SECONDS // 60)} MIN: the hub takes this terminal for that long.",
        "Come back here and scan for hubs, then connect.",
        f"WRONG PIN 1/{MENU_TRIES} means the PIN was not right: check it and type it again. "
        f"After {MENU_TRIES} wrong tries the menu locks for {MENU_LOCK_MINUTES} minutes "
        "(MENU LOCKED); the gas meter has the same menu.",
    ]


@dataclass
class WindowSeen:
    """What the terminal saw of one job's hub window: closed, then open since when."""

    closed_seen: bool = False
    open_since: float | None = None  # wall clock, when first seen open after closed


class WindowWatch:
    """The window of each job's hub, as the scans saw it, for the countdown."""

    def __init__(self, clock: Any = time.time, *, time_scale: float = 1.0) -> None:
        self._clock = clock
        # a simulated hub's time runs ``time_scale`` times faster: so does its window
        self._window_seconds = MENU_WINDOW_SECONDS / time_scale
        self._jobs: dict[str, WindowSeen] = {}

    def observe(self, job_id: str, beacons: list[dict[str, Any]]) -> dict[str, Any] | None:
        """After a scan: the window of the job's hub (None when it was not heard)."""
        expected = next((b for b in beacons if b.get("expected")), None)
        if expected is None or expected.get("interpan_open") is None:
            return None
        seen = self._jobs.setdefault(job_id, WindowSeen())
        now = self._clock()
        if not expected["interpan_open"]:
            seen.closed_seen, seen.open_since = True, None
            return {"open": False}
        if seen.closed_seen and seen.open_since is None:
            seen.open_since = now
        if seen.open_since is None:
            return {"open": True}
        left = seen.open_since + self._window_seconds - now
        if left <= 0:
            return {"open": True}
        return {"open": True, "seconds_left": int(left), "opened_seen_at": seen.open_since}
