"""Choosing, on site, which of a job's candidate device sets is the one in front of us.

Seed 3.6: the supplier may send commands for several possible hubs and meters. The
HHT runs only the set whose hub is the hub it connected to, and whose meters agree
with any meter ids the hub reported or the installer scanned. It never guesses:
no match, or more than one, is said plainly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

METER_ROLES = ("esme", "gsme")


@dataclass(frozen=True)
class Match:
    chosen: dict[str, Any] | None
    message: str


def _meter_ids(device_set: dict[str, Any]) -> set[str]:
    devices = device_set["devices"]
    return {devices[r].upper() for r in METER_ROLES if devices.get(r)}


def match_device_set(
    sets: list[dict[str, Any]], hub_id: str, meters_seen: set[str] | frozenset[str] = frozenset()
) -> Match:
    """The one set for ``hub_id`` and ``meters_seen``, or why there is none.

    ``sets`` are rows of ``device_sets`` with ``devices`` decoded.
    """
    hub_id = hub_id.upper()
    seen = {m.upper() for m in meters_seen}
    for_hub = [s for s in sets if s["hub_id"].upper() == hub_id]
    if not for_hub:
        hubs = ", ".join(s["hub_id"] for s in sets)
        return Match(
            None,
            f"Hub {hub_id} is in none of this job's device sets (expected "
            f"{'one of ' if len(sets) > 1 else ''}{hubs}). Nothing will be sent. Check the "
            "hub label; if this is the hub installed here, send a site survey to the office.",
        )
    if seen:
        agreeing = [s for s in for_hub if seen <= _meter_ids(s)]
        if not agreeing:
            return Match(
                None,
                f"The meters found ({', '.join(sorted(seen))}) are not in the device set for "
                f"hub {hub_id}. Nothing will be sent. Send a site survey to the office.",
            )
        for_hub = agreeing
    if len(for_hub) > 1:
        labels = ", ".join(s["label"] for s in for_hub)
        return Match(
            None,
            f"Sets {labels} all use hub {hub_id}; scan or type the meter ids to say which "
            "meters are here.",
        )
    chosen = for_hub[0]
    return Match(chosen, f"Using device set {chosen['label']} (hub {hub_id})")
