"""The simulated radio medium: frame times, duty cycle, seeded loss, drops, and the
band figures every radio shares."""

from __future__ import annotations

import pytest

from webapp.sim.medium import (
    DUTY_CYCLE,
    DUTY_WINDOW_S,
    FrameDropped,
    Medium,
    channels_of,
    frames_for,
    lqi_for,
    modelled_airtime,
)
from webapp.zigbee.drivers.base import BAND_2_4_GHZ, BAND_868_MHZ


def test_full_frame_figures_match_domain() -> None:
    assert Medium.exchange_time(127, BAND_2_4_GHZ) == pytest.approx(0.0069, abs=0.0003)
    assert Medium.frame_airtime(127, BAND_868_MHZ) == pytest.approx(0.011, abs=0.0005)


def test_868_sender_waits_when_duty_cycle_budget_is_spent() -> None:
    medium = Medium()
    now = 0.0
    first_start = None
    waited = False
    for _ in range(5000):
        tx = medium.transmit("hub", 127, BAND_868_MHZ, now)
        first_start = tx.start if first_start is None else first_start
        waited = waited or tx.start > now + 1.0
        now = tx.end
        # In any window the sender is on air at most the duty-cycle budget.
        assert medium.duty_used("hub", BAND_868_MHZ, 0, tx.start) <= (
            DUTY_CYCLE * DUTY_WINDOW_S + 1e-9
        )
    assert waited
    assert now > DUTY_WINDOW_S  # 5000 frames x 10.6 ms = 53 s of air > 36 s budget


def test_2_4ghz_has_no_duty_cycle() -> None:
    medium = Medium()
    now = 0.0
    for _ in range(6000):
        now = medium.transmit("hht", 127, BAND_2_4_GHZ, now).end
    assert now == pytest.approx(6000 * Medium.exchange_time(127, BAND_2_4_GHZ))


def test_seeded_loss_and_drop_at_frame() -> None:
    a = [Medium(frame_loss=0.3, seed=7).transmit("x", 50, BAND_2_4_GHZ, 0).delivered]
    b = [Medium(frame_loss=0.3, seed=7).transmit("x", 50, BAND_2_4_GHZ, 0).delivered]
    assert a == b
    medium = Medium(drop_at_frame=3)
    medium.transmit("x", 50, BAND_2_4_GHZ, 0)
    medium.transmit("x", 50, BAND_2_4_GHZ, 0)
    with pytest.raises(FrameDropped):
        medium.transmit("x", 50, BAND_2_4_GHZ, 0)


def test_modelled_airtime() -> None:
    full_2_4 = Medium.exchange_time(127, BAND_2_4_GHZ)
    full_868 = Medium.exchange_time(127, BAND_868_MHZ)
    assert frames_for(0) == 1
    assert frames_for(71) == 1 and frames_for(72) == 2  # 71 octets per secured block
    assert modelled_airtime(71) == pytest.approx(full_2_4)
    assert modelled_airtime(1500) == pytest.approx(22 * full_2_4)
    assert modelled_airtime(142, BAND_868_MHZ) == pytest.approx(2 * full_868)
    with pytest.raises(ValueError):
        modelled_airtime(10, "5GHz")


def test_channels_and_link_quality() -> None:
    assert channels_of(BAND_2_4_GHZ) == range(11, 27)
    assert channels_of(BAND_868_MHZ) == range(0, 27)
    assert lqi_for(-95) == 0 and lqi_for(-35) == 255
    assert lqi_for(-120) == 0 and lqi_for(-10) == 255
    assert lqi_for(-65) == 128


def test_one_sender_sends_one_frame_at_a_time() -> None:
    """A short frame asked for while a long one is still on air waits for it, so it cannot
    arrive first; another sender is not held up."""
    medium = Medium()
    long_frame = medium.transmit("hub", 127, BAND_2_4_GHZ, now=0.0)
    short_frame = medium.transmit("hub", 20, BAND_2_4_GHZ, now=0.0001)
    assert short_frame.start == long_frame.end
    assert short_frame.end > long_frame.end
    other = medium.transmit("hht", 20, BAND_2_4_GHZ, now=0.0001)
    assert other.start == 0.0001
    later = medium.transmit("hub", 20, BAND_2_4_GHZ, now=1.0)
    assert later.start == 1.0
