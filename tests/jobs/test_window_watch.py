"""The countdown of a hub's window, as the terminal's scans saw it open."""

from __future__ import annotations

from webapp.jobs.doorstep import MENU_WINDOW_SECONDS, WindowWatch

JOB = "J1"


def _beacons(open_: bool) -> list[dict]:
    return [{"expected": True, "interpan_open": open_}, {"expected": False, "interpan_open": True}]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_countdown_starts_when_a_closed_window_is_seen_open() -> None:
    clock = FakeClock()
    watch = WindowWatch(clock)
    assert watch.observe(JOB, _beacons(False)) == {"open": False}
    clock.now += 5
    opened = watch.observe(JOB, _beacons(True))
    assert opened is not None and opened["seconds_left"] == int(MENU_WINDOW_SECONDS)
    clock.now += 60
    assert watch.observe(JOB, _beacons(True))["seconds_left"] == int(MENU_WINDOW_SECONDS) - 60
    clock.now += MENU_WINDOW_SECONDS
    assert watch.observe(JOB, _beacons(True)) == {"open": True}  # no countdown past its end


def test_a_window_open_from_the_start_has_no_countdown() -> None:
    watch = WindowWatch(FakeClock())
    assert watch.observe(JOB, _beacons(True)) == {"open": True}
    assert watch.observe(JOB, [{"expected": False, "interpan_open": True}]) is None


def test_a_simulated_hub_s_faster_time_shortens_the_countdown() -> None:
    clock = FakeClock()
    watch = WindowWatch(clock, time_scale=30.0)
    watch.observe(JOB, _beacons(False))
    opened = watch.observe(JOB, _beacons(True))
    assert opened is not None and opened["seconds_left"] == int(MENU_WINDOW_SECONDS / 30)
