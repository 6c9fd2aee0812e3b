"""The HHT's clock discipline: an estimate of true time and how good it is."""

from webapp.clock.estimate import (
    Clock,
    PhoneReading,
    SourceChange,
    TimeEstimate,
    TimeSource,
    time_setting_allowed,
)

__all__ = [
    "Clock",
    "PhoneReading",
    "SourceChange",
    "TimeEstimate",
    "TimeSource",
    "time_setting_allowed",
]
