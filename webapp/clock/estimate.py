"""The HHT's estimate of true time, with an uncertainty, from the best source it has.

Sources, best first when their uncertainty is smaller:
* the system clock, when the kernel says it is synchronised (NTP/GPS);
* the phone's clock, measured over the socket: several round trips, offset from the
  midpoint of each, uncertainty half the round trip plus the phone's own error;
* the hub's time (ZCL Time cluster) once connected, when the hub says it is synchronised.

A sample's uncertainty grows with the time since it was taken (the Pi's crystal drifts;
there is no battery clock). The service never changes the system clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from webapp.clock.kernel import KernelClock, read_kernel_clock

DRIFT_PER_SECOND = 100e-6  # a Pi without network time drifts up to ~100 ppm
PHONE_CLOCK_ERROR_S = 0.5  # a phone on network time, and its millisecond clock
HUB_CLOCK_ERROR_S = 1.0  # a hub synchronised to the DCC, read over the HAN
UNKNOWN_UNCERTAINTY_S = float("inf")
KERNEL_RECHECK_S = 30.0


class TimeSource(StrEnum):
    SYSTEM = "system"  # the kernel says its clock is synchronised
    PHONE = "phone"
    HUB = "hub"
    UNSYNCHRONISED = "unsynchronised"  # the system clock, which nobody vouches for


@dataclass(frozen=True)
class Sample:
    source: TimeSource
    offset_s: float  # true time minus system time
    uncertainty_s: float  # at the moment it was taken
    taken_monotonic: float


@dataclass(frozen=True)
class TimeEstimate:
    now: float  # best estimate of true time, seconds since the epoch
    offset_s: float  # now - system time
    uncertainty_s: float
    source: TimeSource

    def to_dict(self) -> dict:
        return {
            "now_ms": int(self.now * 1000),
            "offset_s": round(self.offset_s, 3),
            "uncertainty_s": None
            if self.uncertainty_s == UNKNOWN_UNCERTAINTY_S
            else round(self.uncertainty_s, 3),
            "source": self.source.value,
            "label": self.label,
        }

    @property
    def label(self) -> str:
        if self.uncertainty_s == UNKNOWN_UNCERTAINTY_S:
            return "Time not known: open the job page on a phone with network time"
        return f"Time from the {self.source.value} clock, within ±{self.uncertainty_s:.1f} s"


def phone_sample(sent_ms: float, phone_ms: float, received_ms: float, at: float) -> Sample:
    """One round trip: the server sent at ``sent_ms``, the phone said ``phone_ms``, the answer
    arrived at ``received_ms`` (server system clock, milliseconds)."""
    rtt_s = max(0.0, received_ms - sent_ms) / 1000
    midpoint_s = (sent_ms + received_ms) / 2000
    return Sample(
        TimeSource.PHONE, phone_ms / 1000 - midpoint_s, rtt_s / 2 + PHONE_CLOCK_ERROR_S, at
    )


class Clock:
    """Keeps the best sample per source and answers with the best estimate (thread-safe)."""

    def __init__(
        self,
        kernel: Callable[[], KernelClock | None] = read_kernel_clock,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kernel = kernel
        self._wall = wall
        self._monotonic = monotonic
        self._samples: dict[TimeSource, Sample] = {}
        self._lock = threading.Lock()
        self._kernel_checked = -KERNEL_RECHECK_S - 1.0
        self._kernel_state: KernelClock | None = None

    def _aged(self, sample: Sample, now_mono: float) -> float:
        return sample.uncertainty_s + DRIFT_PER_SECOND * max(0.0, now_mono - sample.taken_monotonic)

    def offer(self, sample: Sample) -> bool:
        """Keep ``sample`` if it beats the one held for its source; True when kept."""
        with self._lock:
            held = self._samples.get(sample.source)
            now_mono = self._monotonic()
            if held is None or sample.uncertainty_s < self._aged(held, now_mono):
                self._samples[sample.source] = sample
                return True
            return False

    def offer_phone(self, sent_ms: float, phone_ms: float, received_ms: float) -> Sample:
        sample = phone_sample(sent_ms, phone_ms, received_ms, self._monotonic())
        self.offer(sample)
        return sample

    def offer_hub_time(self, hub_time: float, synchronised: bool) -> Sample | None:
        """The hub's time as just read (its Time cluster); ignored when not synchronised."""
        if not synchronised:
            return None
        sample = Sample(
            TimeSource.HUB, hub_time - self._wall(), HUB_CLOCK_ERROR_S, self._monotonic()
        )
        self.offer(sample)
        return sample

    def _system_sample(self, now_mono: float) -> Sample | None:
        if now_mono - self._kernel_checked > KERNEL_RECHECK_S:
            self._kernel_state = self._kernel()
            self._kernel_checked = now_mono
        state = self._kernel_state
        if state is None or not state.synchronised:
            return None
        return Sample(TimeSource.SYSTEM, 0.0, state.max_error_s, now_mono)

    def estimate(self) -> TimeEstimate:
        with self._lock:
            now_mono = self._monotonic()
            candidates = list(self._samples.values())
            system = self._system_sample(now_mono)
            if system is not None:
                candidates.append(system)
            wall = self._wall()
            if not candidates:
                return TimeEstimate(wall, 0.0, UNKNOWN_UNCERTAINTY_S, TimeSource.UNSYNCHRONISED)
            best = min(candidates, key=lambda s: self._aged(s, now_mono))
            return TimeEstimate(
                wall + best.offset_s, best.offset_s, self._aged(best, now_mono), best.source
            )


#: Use cases whose commands set a device's clock (GBCS): the HHT's time must be good.
TIME_SETTING_USE_CASES = frozenset({"ECS70", "GCS28"})
DEFAULT_TOLERANCE_S = 10.0


def time_setting_allowed(
    estimate: TimeEstimate, use_cases: set[str], tolerance_s: float = DEFAULT_TOLERANCE_S
) -> tuple[bool, str]:
    """May a job with ``use_cases`` run now? (yes, or no with what to do)."""
    setting = sorted(use_cases & TIME_SETTING_USE_CASES)
    if not setting:
        return True, ""
    if estimate.uncertainty_s <= tolerance_s:
        return True, ""
    known = (
        "is not known"
        if estimate.uncertainty_s == UNKNOWN_UNCERTAINTY_S
        else f"is only known to ±{estimate.uncertainty_s:.0f} s"
    )
    return False, (
        f"This job sets meter clocks ({', '.join(setting)}) and the terminal's time {known} "
        f"(needs ±{tolerance_s:.0f} s). Keep this page open on a phone with network time for "
        "a few seconds, or connect to a hub that has the time, then start again."
    )
