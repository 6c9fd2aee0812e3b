"""What a radio at a site hears, and whether it may connect to a hub there.

A *position* is a site name (or the hub id of a site's own hub).  At a site the radio hears
that site's hub (strongest), its neighbour hubs (weaker) and the foreign Zigbee networks
around it, but only on the bands the radio has.  ``None`` means everywhere at once, as on a
demo street: every site's hubs and networks are in range.
"""

from __future__ import annotations

import logging
from typing import Any

from webapp.zigbee.drivers.base import Beacon, ErrorCode, RadioError, normalise_hub_id

from .hub import interpan_open
from .state import HanStore

log = logging.getLogger(__name__)

RSSI_FLOOR = -95  # dBm at LQI 0
RSSI_SPAN = 60  # dB from LQI 0 to LQI 255


def lqi_for(rssi: int) -> int:
    return max(0, min(255, round((rssi - RSSI_FLOOR) * 255 / RSSI_SPAN)))


class Air:
    def __init__(self, store: HanStore) -> None:
        self.store = store

    def sites_at(self, position: str | None) -> list[str]:
        if position is None:
            return [row["name"] for row in self.store.rows("SELECT name FROM sites ORDER BY idx")]
        found = self.store.row(
            "SELECT name FROM sites WHERE name = ? OR hub_id = ?", [position, position.upper()]
        )
        if found is None:
            raise KeyError(f"no site {position!r}")
        return [found["name"]]

    def site_of(self, hub_id: str) -> str | None:
        """The site where hub ``hub_id`` stands (its home, or where it is a neighbour)."""
        found = self.store.row("SELECT site FROM hubs WHERE hub_id = ?", [hub_id.upper()])
        return None if found is None else found["site"]

    def _where(self, position: str | None) -> tuple[str, list[str]]:
        sites = self.sites_at(position)
        return f"site IN ({', '.join('?' * len(sites))})", sites

    def hubs_at(self, position: str | None) -> list[dict[str, Any]]:
        where, params = self._where(position)
        return self.store.rows(f"SELECT * FROM hubs WHERE {where} ORDER BY rssi DESC", params)

    def beacons(self, position: str | None, bands: frozenset[str], now: float) -> list[Beacon]:
        """Beacons heard at ``position`` on ``bands``, strongest first."""
        heard: list[Beacon] = []
        for hub in self.hubs_at(position):
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
        where, params = self._where(position)
        for row in self.store.rows(f"SELECT * FROM foreign_beacons WHERE {where}", params):
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
            raise RadioError(ErrorCode.BAND_UNSUPPORTED, f"hub {wanted} is on {hub['band']} only")
        if not interpan_open(hub["power_on_at"], now):
            raise RadioError(ErrorCode.WINDOW_CLOSED, f"hub {wanted} Inter-PAN window closed")
        return hub
