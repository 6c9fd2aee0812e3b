"""The simulated HAN: hubs, meters and displays behind the ``sim`` radio driver."""

from __future__ import annotations

from .clock import SimClock
from .han import SimHan
from .scenario import SiteInfo

__all__ = ["SimClock", "SimHan", "SiteInfo"]
