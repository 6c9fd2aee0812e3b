"""Simulated time: the clock of the HAN, which may run faster than the wall clock.

All durations inside the simulated HAN (device processing, airtime, the Inter-PAN window,
the gas meter's wake interval) are *sim seconds*.  With ``time_scale`` 1000 one real second
is 1000 sim seconds, so a 30-minute wake interval passes in 1.8 real seconds.  Tests can also
jump the clock forward with :meth:`SimClock.advance`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

log = logging.getLogger(__name__)


class SimClock:
    """Sim time = a start point plus scaled elapsed real time plus any manual advance."""

    def __init__(
        self,
        time_scale: float = 1.0,
        *,
        start: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = float(time_scale)
        self._monotonic = monotonic
        self._real_base = monotonic()
        self._sim_base = time.time() if start is None else float(start)
        self._offset = 0.0

    def now(self) -> float:
        """Sim time as seconds since the Unix epoch."""
        elapsed = self._monotonic() - self._real_base
        return self._sim_base + elapsed * self.time_scale + self._offset

    def advance(self, seconds: float) -> None:
        """Move sim time forward (tests: let a window close, a wake interval pass)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    def not_before(self, instant: float) -> None:
        """Make sure sim time is at least ``instant`` (sim time never runs backwards)."""
        now = self.now()
        if instant > now:
            self._offset += instant - now

    def to_real(self, sim_seconds: float) -> float:
        return max(0.0, sim_seconds) / self.time_scale

    async def sleep(self, sim_seconds: float) -> None:
        """Wait ``sim_seconds`` of sim time (``sim_seconds / time_scale`` real seconds)."""
        await asyncio.sleep(self.to_real(sim_seconds))


def iso(instant: float | None) -> str | None:
    """A sim instant as ISO-8601 UTC text."""
    if instant is None:
        return None
    return datetime.fromtimestamp(instant, tz=UTC).isoformat(timespec="milliseconds")
