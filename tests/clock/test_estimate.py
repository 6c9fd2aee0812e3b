"""The terminal's estimate of true time, from simulated round trips and sources."""

from __future__ import annotations

import pytest

from webapp.clock.estimate import (
    DRIFT_PER_SECOND,
    PHONE_CLOCK_ERROR_S,
    Clock,
    TimeSource,
    phone_sample,
    time_setting_allowed,
)
from webapp.clock.kernel import KernelClock, read_kernel_clock


class FakeTime:
    def __init__(self) -> None:
        self.wall = 1_800_000_000.0  # the Pi's (wrong) system clock
        self.mono = 100.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def make_clock(t: FakeTime, kernel: KernelClock | None = None) -> Clock:
    return Clock(kernel=lambda: kernel, wall=lambda: t.wall, monotonic=lambda: t.mono)


def test_nothing_known_means_unknown():
    t = FakeTime()
    estimate = make_clock(t).estimate()
    assert estimate.source == TimeSource.UNSYNCHRONISED
    assert estimate.uncertainty_s == float("inf")
    assert "not known" in estimate.label


def test_phone_round_trips_give_offset_and_uncertainty():
    t = FakeTime()
    clock = make_clock(t)
    true_offset = 120.0  # the Pi is two minutes slow
    for rtt_ms in (400.0, 80.0, 250.0, 40.0, 900.0):
        sent = t.wall * 1000
        phone = (t.wall + true_offset) * 1000 + rtt_ms / 2  # answered half way
        t.advance(rtt_ms / 1000)
        clock.offer_phone(sent, phone, t.wall * 1000)
    estimate = clock.estimate()
    assert estimate.source == TimeSource.PHONE
    assert estimate.offset_s == pytest.approx(true_offset, abs=0.05)
    assert estimate.uncertainty_s == pytest.approx(0.02 + PHONE_CLOCK_ERROR_S, abs=1e-3)
    assert abs(estimate.now - (t.wall + true_offset)) <= estimate.uncertainty_s


def test_an_asymmetric_trip_stays_inside_the_uncertainty():
    # the true offset is 0; the phone answered right at the start of a 600 ms trip
    sample = phone_sample(1000.0, 1000.0, 1600.0, at=0.0)
    assert abs(sample.offset_s) <= sample.uncertainty_s


def test_uncertainty_grows_with_age_and_a_better_source_wins():
    t = FakeTime()
    clock = make_clock(t)
    clock.offer_phone(t.wall * 1000, t.wall * 1000 + 5, t.wall * 1000 + 10)
    first = clock.estimate().uncertainty_s
    t.advance(3600)
    aged = clock.estimate().uncertainty_s
    assert aged == pytest.approx(first + 3600 * DRIFT_PER_SECOND)
    clock.offer_hub_time(t.wall + 3.0, synchronised=False)  # ignored
    assert clock.estimate().source == TimeSource.PHONE
    synced = make_clock(t, KernelClock(synchronised=True, max_error_s=0.05))
    assert synced.estimate().source == TimeSource.SYSTEM
    assert synced.estimate().uncertainty_s == pytest.approx(0.05)


def test_hub_time_when_synchronised():
    t = FakeTime()
    clock = make_clock(t)
    clock.offer_hub_time(t.wall - 30.0, synchronised=True)
    estimate = clock.estimate()
    assert estimate.source == TimeSource.HUB and estimate.offset_s == pytest.approx(-30.0)


def test_time_setting_is_held_until_the_time_is_good():
    t = FakeTime()
    clock = make_clock(t)
    allowed, why = time_setting_allowed(clock.estimate(), {"CCS01", "ECS70"}, 10.0)
    assert not allowed and "ECS70" in why and "not known" in why
    assert time_setting_allowed(clock.estimate(), {"CCS01", "ECS17b"}, 10.0) == (True, "")
    clock.offer_phone(t.wall * 1000, t.wall * 1000, t.wall * 1000 + 100)
    assert time_setting_allowed(clock.estimate(), {"ECS70"}, 10.0)[0]


def test_the_kernel_can_be_read_here():
    state = read_kernel_clock()
    assert state is None or state.max_error_s >= 0
