"""What a simulated device knows when it makes up the values it answers with."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from webapp.gbcs.datetimes import ZCL_EPOCH

#: A register's start value is below this, per device.
REGISTER_START_RANGE = 20_000_000
SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class ReadContext:
    """A device (its EUI-64 and kind) at sim time ``now``: plausible attribute values."""

    eui: str
    kind: str
    now: float

    def fraction(self, label: str) -> float:
        """A number in [0, 1) fixed for this device and ``label``."""
        digest = hashlib.sha256(f"{self.eui}:{label}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / (1 << 64)

    def register(self, label: str, rate_per_hour: float) -> int:
        """A register that grows steadily with sim time from a device-specific start."""
        start = int(self.fraction(label) * REGISTER_START_RANGE)
        hours = max(0.0, self.now - ZCL_EPOCH.timestamp()) / SECONDS_PER_HOUR
        return start + int(hours * rate_per_hour * (0.5 + self.fraction(label + "/rate")))
