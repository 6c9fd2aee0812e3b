"""The HHT's estimate of true time, with an uncertainty, from the best source it has.

Sources, best first when their uncertainty is smaller:
* the system clock, when the kernel says it is synchronised (NTP/GPS);
* the phone's clock, measured over the socket: several round trips, offset from the
  midpoint of each, uncertainty half the round trip plus the phone's own error;
* the hub's time (ZCL Time cluster) once connected, when the hub says it is synchronised.

A sample's uncertainty grows with the time since it was taken (the Pi's crystal drifts;
there is no battery clock). The service never changes the system clock.

Phones are the least trusted source (any installer's page sends one): each phone's
reading is checked against the kernel's synchronised clock and the hub's time when there
are any (:mod:`webapp.clock.agreement`), and against the other phones when there are
none. A phone that disagrees is flagged and its time is not used; phones that disagree
with each other are all set aside until a better source settles it. Each change of the
estimate's source is kept until the job log takes it (:meth:`Clock.take_changes`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from webapp.clock.agreement import (
    ANOTHER_PHONE,
    Disagreement,
    Reading,
    disagreement,
    phones_in_dispute,
)
from webapp.clock.kernel import KernelClock, read_kernel_clock

DRIFT_PER_SECOND = 100e-6  # a Pi without network time drifts up to ~100 ppm
PHONE_CLOCK_ERROR_S = 0.5  # a phone on network time, and its millisecond clock
HUB_CLOCK_ERROR_S = 1.0  # a hub synchronised to the DCC, read over the HAN
UNKNOWN_UNCERTAINTY_S = float("inf")
KERNEL_RECHECK_S = 30.0
MAX_PHONES = 8  # phones whose best reading is kept (one per user)
MAX_FLAGGED_PHONES = 32  # phones remembered as disagreeing
FLAG_NOTICE_S = 15 * 60  # how long the estimate's label mentions a flagged phone
MAX_PENDING_CHANGES = 32  # source changes waiting for the job log
PHONE = "phone"  # the key of a phone nobody named


class TimeSource(StrEnum):
    SYSTEM = "system"  # the kernel says its clock is synchronised
    PHONE = "phone"
    HUB = "hub"
    UNSYNCHRONISED = "unsynchronised"  # the system clock, which nobody vouches for


#: Where the terminal's time came from, in the words the installer reads.
SOURCE_WORDS = {
    TimeSource.SYSTEM: "the network time service",
    TimeSource.PHONE: "your phone",
    TimeSource.HUB: "the hub",
    TimeSource.UNSYNCHRONISED: "the terminal's own clock, which nobody has checked",
}


@dataclass(frozen=True)
class Sample:
    source: TimeSource
    offset_s: float  # true time minus system time
    uncertainty_s: float  # at the moment it was taken
    taken_monotonic: float
    origin: str = ""  # which phone (its user), for phone samples


@dataclass(frozen=True)
class TimeEstimate:
    now: float  # best estimate of true time, seconds since the epoch
    offset_s: float  # now - system time
    uncertainty_s: float
    source: TimeSource
    warning: str = ""  # e.g. the phone's clock disagrees, so its time is not used

    def to_dict(self) -> dict:
        return {
            "now_ms": int(self.now * 1000),
            "offset_s": round(self.offset_s, 3),
            "uncertainty_s": None
            if self.uncertainty_s == UNKNOWN_UNCERTAINTY_S
            else round(self.uncertainty_s, 3),
            "source": self.source.value,
            "label": self.label,
            "warning": self.warning or None,
        }

    @property
    def label(self) -> str:
        if self.uncertainty_s == UNKNOWN_UNCERTAINTY_S:
            label = "Time not known: open the job page on a phone with network time"
        else:
            where = SOURCE_WORDS.get(self.source, self.source.value)
            label = f"Time taken from {where}, right to within {self.uncertainty_s:.1f} s"
        return f"{label}. Note: {self.warning}." if self.warning else label


@dataclass(frozen=True)
class SourceChange:
    """The estimate moved to another source (for the job log)."""

    at: float  # system time of the change
    previous: TimeSource
    estimate: TimeEstimate

    @property
    def message(self) -> str:
        return (
            f"Clock source changed from {self.previous.value} to "
            f"{self.estimate.source.value}: {self.estimate.label}"
        )

    def data(self) -> dict[str, object]:
        return {"from": self.previous.value, **self.estimate.to_dict()}


@dataclass(frozen=True)
class PhoneReading:
    """What became of one phone sample: used, or set aside with why."""

    sample: Sample
    disagreement: Disagreement | None

    @property
    def used(self) -> bool:
        return self.disagreement is None


def phone_sample(
    sent_ms: float, phone_ms: float, received_ms: float, at: float, origin: str = PHONE
) -> Sample:
    """One round trip: the server sent at ``sent_ms``, the phone said ``phone_ms``, the answer
    arrived at ``received_ms`` (server system clock, milliseconds)."""
    rtt_s = max(0.0, received_ms - sent_ms) / 1000
    midpoint_s = (sent_ms + received_ms) / 2000
    return Sample(
        TimeSource.PHONE,
        phone_ms / 1000 - midpoint_s,
        rtt_s / 2 + PHONE_CLOCK_ERROR_S,
        at,
        origin,
    )


class Clock:
    """Keeps the best sample per source (per phone for phones) and answers with the best
    estimate (thread-safe)."""

    def __init__(
        self,
        kernel: Callable[[], KernelClock | None] = read_kernel_clock,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kernel = kernel
        self._wall = wall
        self._monotonic = monotonic
        self._samples: dict[TimeSource, Sample] = {}  # the hub's (not phones')
        self._phones: OrderedDict[str, Sample] = OrderedDict()
        self._flagged: OrderedDict[str, tuple[Disagreement, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._kernel_checked = -KERNEL_RECHECK_S - 1.0
        self._kernel_state: KernelClock | None = None
        self._source: TimeSource | None = None  # the last estimate's, once there is one
        self._changes: deque[SourceChange] = deque(maxlen=MAX_PENDING_CHANGES)

    def _aged(self, sample: Sample, now_mono: float) -> float:
        return sample.uncertainty_s + DRIFT_PER_SECOND * max(0.0, now_mono - sample.taken_monotonic)

    def _reading(self, sample: Sample, now_mono: float) -> Reading:
        name = sample.origin if sample.source == TimeSource.PHONE else sample.source.value
        return Reading(name, sample.offset_s, self._aged(sample, now_mono))

    def offer(self, sample: Sample) -> bool:
        """Keep ``sample`` if it beats the one held for its source; True when kept (and,
        for a phone, used)."""
        if sample.source == TimeSource.PHONE:
            return self._offer_phone(sample).used
        with self._lock:
            held = self._samples.get(sample.source)
            now_mono = self._monotonic()
            self._start_watching(now_mono)
            kept = held is None or sample.uncertainty_s < self._aged(held, now_mono)
            if kept:
                self._samples[sample.source] = sample
            self._estimate(now_mono)
            return kept

    def offer_phone(
        self, sent_ms: float, phone_ms: float, received_ms: float, phone: str = PHONE
    ) -> PhoneReading:
        """One round trip to ``phone`` (its user's key): used, or set aside and why."""
        return self._offer_phone(
            phone_sample(sent_ms, phone_ms, received_ms, self._monotonic(), phone)
        )

    def _offer_phone(self, sample: Sample) -> PhoneReading:
        phone = sample.origin or PHONE
        with self._lock:
            now_mono = self._monotonic()
            self._start_watching(now_mono)
            reading = self._reading(sample, now_mono)
            references = [self._reading(s, now_mono) for s in self._references(now_mono)]
            if references:
                found = disagreement(reading, references)
                if found is None:
                    self._flagged.pop(phone, None)
            else:  # nothing better to judge by: a flag stands, else compare with the phones
                flagged = self._flagged.get(phone)
                found = flagged[0] if flagged is not None else None
                if found is None:
                    others = [
                        self._reading(s, now_mono) for k, s in self._phones.items() if k != phone
                    ]
                    found = disagreement(reading, others, ANOTHER_PHONE)
            if found is not None and found.other != ANOTHER_PHONE:
                self._flag(phone, found, now_mono)
            else:
                self._keep_phone(phone, sample, now_mono)
            self._estimate(now_mono)
        return PhoneReading(sample, found)

    def _flag(self, phone: str, found: Disagreement, now_mono: float) -> None:
        self._phones.pop(phone, None)
        self._flagged[phone] = (found, now_mono)
        self._flagged.move_to_end(phone)
        while len(self._flagged) > MAX_FLAGGED_PHONES:
            self._flagged.popitem(last=False)

    def _keep_phone(self, phone: str, sample: Sample, now_mono: float) -> None:
        """The phone's best reading; its latest when the two disagree (its clock changed)."""
        held = self._phones.get(phone)
        if held is not None:
            changed = disagreement(self._reading(sample, now_mono), [self._reading(held, now_mono)])
            if changed is None and sample.uncertainty_s >= self._aged(held, now_mono):
                return
        self._phones[phone] = sample
        self._phones.move_to_end(phone)
        while len(self._phones) > MAX_PHONES:
            self._phones.popitem(last=False)

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

    def _references(self, now_mono: float) -> list[Sample]:
        """The sources a phone is judged by: the synchronised system clock and the hub."""
        system = self._system_sample(now_mono)
        held = list(self._samples.values())
        return held if system is None else [*held, system]

    def _usable_phones(self, references: list[Sample], now_mono: float) -> tuple[list[Sample], str]:
        """The phones' samples the estimate may use, and why any are not."""
        if references:
            judges = [self._reading(s, now_mono) for s in references]
            for phone, sample in list(self._phones.items()):
                found = disagreement(self._reading(sample, now_mono), judges)
                if found is not None:  # a better source came since: it settles it
                    self._flag(phone, found, now_mono)
            phones = list(self._phones.values())
        else:
            phones = [s for k, s in self._phones.items() if k not in self._flagged]
            dispute = phones_in_dispute([self._reading(s, now_mono) for s in phones])
            if dispute is not None:
                return [], dispute.message
        latest = next(reversed(self._flagged.values()), None)
        if latest is None or now_mono - latest[1] > FLAG_NOTICE_S:
            return phones, ""
        return phones, latest[0].message

    def _start_watching(self, now_mono: float) -> None:
        """Take the source before the first sample as the one changes are counted from."""
        if self._source is None:
            self._estimate(now_mono)

    def _estimate(self, now_mono: float) -> TimeEstimate:
        """The best estimate now (with the lock held); notes a change of source."""
        references = self._references(now_mono)
        phones, warning = self._usable_phones(references, now_mono)
        candidates = references + phones
        wall = self._wall()
        if not candidates:
            estimate = TimeEstimate(
                wall, 0.0, UNKNOWN_UNCERTAINTY_S, TimeSource.UNSYNCHRONISED, warning
            )
        else:
            best = min(candidates, key=lambda s: self._aged(s, now_mono))
            estimate = TimeEstimate(
                wall + best.offset_s,
                best.offset_s,
                self._aged(best, now_mono),
                best.source,
                warning,
            )
        if self._source is not None and estimate.source != self._source:
            self._changes.append(SourceChange(wall, self._source, estimate))
        self._source = estimate.source
        return estimate

    def estimate(self) -> TimeEstimate:
        with self._lock:
            return self._estimate(self._monotonic())

    def take_changes(self) -> list[SourceChange]:
        """The changes of source since the last call (oldest first), for the job log."""
        with self._lock:
            changes = list(self._changes)
            self._changes.clear()
            return changes


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
    why = f" Note: {estimate.warning}." if estimate.warning else ""
    return False, (
        f"This job sets meter clocks ({', '.join(setting)}) and the terminal's time {known} "
        f"(needs ±{tolerance_s:.0f} s).{why} Keep this page open on a phone with network time "
        "for a few seconds, or connect to a hub that has the time, then start again."
    )
