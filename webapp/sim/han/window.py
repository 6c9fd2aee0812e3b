"""When a simulated hub accepts Inter-PAN key establishment: its pairing window.

Three things open it (README, "Maintenance visits"):

- power-on: for :data:`~.hub.INTERPAN_WINDOW_SECONDS` after the hub starts;
- the installer menu of a meter on its HAN (:mod:`.meter_menu`): the meter asks the hub, in
  a secured HAN frame, to open the window for a while; the hub keeps it open until
  ``window_until``;
- the hub's own policy (``opens_without_wan``, a per-hub setting): once its WAN has been
  down for :data:`WAN_LOSS_GRACE_SECONDS` the window stays open for as long as the WAN is
  down.

How long each lasts is this project's reading of the seed (minutes 3.8), not a figure from
a specification. Every instant is sim time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from .hub import INTERPAN_WINDOW_SECONDS, interpan_open

log = logging.getLogger(__name__)

#: How long the hub waits, with no WAN, before its policy opens the window.
WAN_LOSS_GRACE_SECONDS = 10 * 60.0
#: The longest a meter's request may keep the window open.
MAX_MENU_WINDOW_SECONDS = 60 * 60.0

POWER_ON = "power-on"
METER_MENU = "meter-menu"
NO_WAN = "no-wan"


@dataclass(frozen=True)
class Window:
    """Whether the hub's window is open now, why, and until when (None: no set end)."""

    open: bool
    reason: str | None = None
    closes_at: float | None = None


def window_of(hub: dict[str, Any], now: float) -> Window:
    """The window of hub row ``hub`` at sim instant ``now``."""
    if interpan_open(hub["power_on_at"], now):
        return Window(True, POWER_ON, hub["power_on_at"] + INTERPAN_WINDOW_SECONDS)
    until = hub.get("window_until")
    if until is not None and now < until:
        return Window(True, METER_MENU, until)
    down_since = hub.get("wan_down_since")
    if (
        hub.get("opens_without_wan")
        and not hub.get("wan_up", 1)
        and down_since is not None
        and now - down_since >= WAN_LOSS_GRACE_SECONDS
    ):
        return Window(True, NO_WAN, None)
    return Window(False)


def window_open(hub: dict[str, Any] | None, now: float) -> bool:
    return hub is not None and window_of(hub, now).open
