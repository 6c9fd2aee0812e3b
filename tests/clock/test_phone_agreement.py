"""A phone's clock is used only while nothing better contradicts it; changes of source
are kept for the job log."""

from __future__ import annotations

import pytest

from webapp.clock.agreement import ANOTHER_PHONE, Reading, disagreement, phones_in_dispute
from webapp.clock.estimate import (
    FLAG_NOTICE_S,
    KERNEL_RECHECK_S,
    PHONE_CLOCK_ERROR_S,
    Clock,
    TimeSource,
    time_setting_allowed,
)
from webapp.clock.kernel import KernelClock

THREE_DAYS_MS = 3 * 24 * 3600 * 1000


class FakeTime:
    def __init__(self) -> None:
        self.wall = 1_800_000_000.0  # the Pi's system clock
        self.mono = 100.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def make_clock(t: FakeTime, kernel: KernelClock | None = None) -> Clock:
    return Clock(kernel=lambda: kernel, wall=lambda: t.wall, monotonic=lambda: t.mono)


def phone(clock: Clock, t: FakeTime, ahead_ms: float = 0.0, who: str = "user-1"):  # type: ignore[no-untyped-def]
    """One 40 ms round trip to a phone whose clock is ``ahead_ms`` ahead of the Pi's."""
    sent = t.wall * 1000
    return clock.offer_phone(sent, sent + 20 + ahead_ms, sent + 40, phone=who)


def test_agreement_is_within_the_sum_of_uncertainties() -> None:
    hub = Reading("hub", 10.0, 1.0)
    assert disagreement(Reading("p", 11.4, 0.5), [hub]) is None
    found = disagreement(Reading("p", 11.6, 0.5), [hub])
    assert found is not None and found.other == "hub"
    assert found.by_s == pytest.approx(1.6) and found.allowed_s == pytest.approx(1.5)
    assert "disagrees with the hub clock by 1.6 s" in found.message
    assert phones_in_dispute([Reading("a", 0.0, 0.5), Reading("b", 0.9, 0.5)]) is None
    dispute = phones_in_dispute([Reading("a", 0.0, 0.5), Reading("b", 5.0, 0.5)])
    assert dispute is not None and dispute.other == ANOTHER_PHONE


def test_a_phone_three_days_ahead_of_the_hub_is_flagged_and_moves_nothing() -> None:
    t = FakeTime()
    clock = make_clock(t)
    clock.offer_hub_time(t.wall - 30.0, synchronised=True)
    before = clock.estimate()
    reading = phone(clock, t, THREE_DAYS_MS)
    assert not reading.used and reading.disagreement is not None
    assert reading.disagreement.other == "hub" and reading.disagreement.by_s > 259_000
    after = clock.estimate()
    assert after.source == TimeSource.HUB and after.offset_s == pytest.approx(before.offset_s)
    assert "the phone's clock disagrees with the hub clock" in after.warning
    assert after.warning in after.label and after.to_dict()["warning"] == after.warning
    # its next readings are set aside too, even a precise one
    assert not phone(clock, t, THREE_DAYS_MS).used
    assert clock.estimate().offset_s == pytest.approx(before.offset_s)


def test_a_phone_that_disagrees_with_the_synchronised_kernel_is_flagged() -> None:
    t = FakeTime()
    clock = make_clock(t, KernelClock(synchronised=True, max_error_s=0.2))
    assert not phone(clock, t, 5_000).used  # 5 s out: beyond 0.2 + 0.52 s
    assert phone(clock, t, 300, who="user-2").used  # 0.3 s out: within
    estimate = clock.estimate()
    assert estimate.source == TimeSource.SYSTEM and estimate.offset_s == 0.0


def test_a_flagged_phone_that_agrees_again_is_used_again() -> None:
    t = FakeTime()
    clock = make_clock(t)
    clock.offer_hub_time(t.wall + 120.0, synchronised=True)
    assert not phone(clock, t, 0).used  # the phone is 2 minutes behind the hub
    fixed = phone(clock, t, 120_000)  # its clock set right
    assert fixed.used
    assert clock.estimate().offset_s == pytest.approx(120.0, abs=0.05)


def test_a_hub_arriving_later_settles_a_phone_already_used() -> None:
    t = FakeTime()
    clock = make_clock(t)
    assert phone(clock, t, THREE_DAYS_MS).used  # nothing to judge it by yet
    assert clock.estimate().source == TimeSource.PHONE
    clock.offer_hub_time(t.wall, synchronised=True)
    estimate = clock.estimate()
    assert estimate.source == TimeSource.HUB and estimate.offset_s == pytest.approx(0.0)
    assert "disagrees with the hub clock" in estimate.warning
    t.advance(FLAG_NOTICE_S + 1)
    assert clock.estimate().warning == ""  # the note fades; the phone stays set aside
    assert not phone(clock, t, THREE_DAYS_MS).used


def test_phones_that_disagree_with_each_other_hold_clock_setting() -> None:
    t = FakeTime()
    clock = make_clock(t)
    assert phone(clock, t, 0, who="user-1").used
    assert time_setting_allowed(clock.estimate(), {"ECS70"})[0]
    rogue = phone(clock, t, THREE_DAYS_MS, who="user-2")
    assert not rogue.used and rogue.disagreement is not None
    assert rogue.disagreement.other == ANOTHER_PHONE
    estimate = clock.estimate()
    assert estimate.source == TimeSource.UNSYNCHRONISED
    assert "another phone's clock" in estimate.warning
    allowed, why = time_setting_allowed(estimate, {"ECS70"})
    assert not allowed and "another phone's clock" in why
    # a hub with the time settles which phone was right
    clock.offer_hub_time(t.wall, synchronised=True)
    assert clock.estimate().source in (TimeSource.HUB, TimeSource.PHONE)
    assert clock.estimate().offset_s == pytest.approx(0.0, abs=0.05)
    assert time_setting_allowed(clock.estimate(), {"ECS70"})[0]


def test_a_phone_whose_clock_changed_is_judged_on_its_latest_reading() -> None:
    t = FakeTime()
    clock = make_clock(t)
    phone(clock, t, 60_000, who="user-1")
    assert clock.estimate().offset_s == pytest.approx(60.0, abs=0.05)
    sent = t.wall * 1000  # a worse round trip, but the phone's clock was set right
    clock.offer_phone(sent, sent + 200, sent + 400, phone="user-1")
    assert clock.estimate().offset_s == pytest.approx(0.0, abs=0.05)


def test_each_change_of_source_is_kept_for_the_log() -> None:
    t = FakeTime()
    kernel: list[KernelClock | None] = [None]
    clock = Clock(kernel=lambda: kernel[0], wall=lambda: t.wall, monotonic=lambda: t.mono)
    assert clock.estimate().source == TimeSource.UNSYNCHRONISED
    assert clock.take_changes() == []  # the first estimate is where changes count from
    phone(clock, t)
    kernel[0] = KernelClock(synchronised=True, max_error_s=0.05)  # NTP came back
    t.advance(KERNEL_RECHECK_S + 1)
    clock.estimate()
    kernel[0] = KernelClock(synchronised=False, max_error_s=16.0)
    t.advance(KERNEL_RECHECK_S + 1)
    clock.estimate()
    clock.estimate()  # no change: nothing new
    changes = clock.take_changes()
    assert [(c.previous, c.estimate.source) for c in changes] == [
        (TimeSource.UNSYNCHRONISED, TimeSource.PHONE),
        (TimeSource.PHONE, TimeSource.SYSTEM),
        (TimeSource.SYSTEM, TimeSource.PHONE),
    ]
    assert "Clock source changed from unsynchronised to phone" in changes[0].message
    assert changes[1].data()["from"] == "phone" and changes[1].data()["source"] == "system"
    assert clock.take_changes() == []


def test_a_source_change_before_any_estimate_is_kept() -> None:
    t = FakeTime()
    clock = make_clock(t)
    assert phone(clock, t).used  # the very first thing the clock hears
    changes = clock.take_changes()
    assert [(c.previous, c.estimate.source) for c in changes] == [
        (TimeSource.UNSYNCHRONISED, TimeSource.PHONE)
    ]
    assert changes[0].estimate.uncertainty_s == pytest.approx(0.02 + PHONE_CLOCK_ERROR_S)
