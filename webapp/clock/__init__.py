"""The HHT's clock discipline: an estimate of true time and how good it is."""

from webapp.clock.estimate import Clock, TimeEstimate, TimeSource, time_setting_allowed

__all__ = ["Clock", "TimeEstimate", "TimeSource", "time_setting_allowed"]
