"""Where things stand in the simulated street: which sites a position covers, their hubs.

A *position* is a site name (or the hub id of a site's own hub).  At a site a radio is in
range of that site's hub (strongest) and its neighbour hubs (weaker).  ``None`` means
everywhere at once, as on a demo street: every site's hubs are in range.
"""

from __future__ import annotations

from typing import Any

from .state import HanStore


class Air:
    """Site and hub lookups by position, over the HAN's store."""

    def __init__(self, store: HanStore) -> None:
        self.store = store

    def sites_at(self, position: str | None) -> list[str]:
        """The names of the sites a radio at ``position`` reaches (KeyError: no such site)."""
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

    def hubs_at(self, position: str | None) -> list[dict[str, Any]]:
        """The hub rows in range of ``position``, strongest first."""
        sites = self.sites_at(position)
        where = f"site IN ({', '.join('?' * len(sites))})"
        return self.store.rows(f"SELECT * FROM hubs WHERE {where} ORDER BY rssi DESC", sites)
