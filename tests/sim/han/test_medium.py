from __future__ import annotations

import pytest

from webapp.sim.han.medium import DUTY_CYCLE, DUTY_WINDOW_S, FrameDropped, Medium
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
