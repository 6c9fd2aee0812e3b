"""What a radio at a site hears, and whether it may connect to a hub there.

A *position* is a site name (or the hub id of a site's own hub); ``None`` means the site
added last, the one being installed.  At a site the radio hears that site's hub (strongest),
its neighbour hubs (weaker) and the foreign Zigbee networks around it, but only on the bands
the radio has.
"""

from __future__ import annotations

import logging
from typing import Any

from webapp.zigbee.drivers.base import Beacon, ErrorCode, RadioError

from .hub import interpan_open
from .state import HanStore

log = logging.getLogger(__name__)

RSSI_FLOOR = -95  # dBm at LQI 0
RSSI_SPAN = 60  # dB from LQI 0 to LQI 255


def lqi_for(rssi: int) -> int:
    return max(0, min(255, round((rssi - RSSI_FLOOR) * 255 / RSSI_SPAN)))


def normalise_hub_id(hub_id: str) -> str:
    text = "".join(ch for ch in hub_id if ch not in "-: ").upper()
    if len(text) != 16 or any(ch not in "0123456789ABCDEF" for ch in text):
        raise RadioError(ErrorCode.NOT_FOUND, f"{hub_id!r} is not a hub id (16 hex digits)")
    return text


class Air:
    def __init__(self, store: HanStore) -> None:
        self.store = store

    def site_at(self, position: str | None) -> str | None:
        if position is None:
            found = self.store.row("SELECT name FROM sites ORDER BY idx DESC LIMIT 1")
            return None if found is None else found["name"]
        found = self.store.row(
            "SELECT name FROM sites WHERE name = ? OR hub_id = ?", [position, position.upper()]
        )
        if found is None:
            raise KeyError(f"no site {position!r}")
        return found["name"]

    def hubs_at(self, position: str | None) -> list[dict[str, Any]]:
        site = self.site_at(position)
        if site is None:
            return []
        return self.store.rows("SELECT * FROM hubs WHERE site = ? ORDER BY rssi DESC", [site])

    def beacons(self, position: str | None, bands: frozenset[str], now: float) -> list[Beacon]:
        """Beacons heard at ``position`` on ``bands``, strongest first."""
        site = self.site_at(position)
        if site is None:
            return []
        heard: list[Beacon] = []
        for hub in self.hubs_at(site):
            is_open = interpan_open(hub["power_on_at"], now)
            heard.append(
                Beacon(
                    channel=hub["channel"],
                    pan_id=hub["pan_id"],
                    extended_pan_id=hub["hub_id"],
                    lqi=lqi_for(hub["rssi"]),
                    rssi=hub["rssi"],
                    permit_join=is_open,
                    band=hub["band"],
                    interpan_open=is_open,
                )
            )
        for row in self.store.rows("SELECT * FROM foreign_beacons WHERE site = ?", [site]):
            heard.append(
                Beacon(
                    channel=row["channel"],
                    pan_id=row["pan_id"],
                    extended_pan_id=row["extended_pan_id"],
                    lqi=lqi_for(row["rssi"]),
                    rssi=row["rssi"],
                    permit_join=bool(row["permit_join"]),
                    band=row["band"],
                    interpan_open=False,
                )
            )
        heard = [b for b in heard if b.band in bands]
        heard.sort(key=lambda b: (-b.rssi, b.extended_pan_id))
        return heard

    def check_connect(
        self, position: str | None, hub_id: str, bands: frozenset[str], now: float
    ) -> dict[str, Any]:
        """The hub row if a radio at ``position`` may start connecting; else RadioError."""
        wanted = normalise_hub_id(hub_id)
        hub = next((h for h in self.hubs_at(position) if h["hub_id"] == wanted), None)
        if hub is None:
            raise RadioError(ErrorCode.NOT_FOUND, f"no hub {wanted} in range")
        if hub["band"] not in bands:
            raise RadioError(
                ErrorCode.BAND_UNSUPPORTED, f"hub {wanted} is on {hub['band']} only"
            )
        if not interpan_open(hub["power_on_at"], now):
            raise RadioError(ErrorCode.WINDOW_CLOSED, f"hub {wanted} Inter-PAN window closed")
        return hub
