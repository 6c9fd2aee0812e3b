from __future__ import annotations

from webapp.bench.logins import login_timing_figures


def test_login_timing_figures_shape() -> None:
    """The figure runs and measures both kinds (no timed assertion: the bench prints them)."""
    figures = login_timing_figures(attempts=2)
    assert figures["attempts"] == 2
    for key in (
        "wrong_pin_known_user_median_ms",
        "wrong_pin_unknown_user_median_ms",
        "right_pin_median_ms",
    ):
        assert figures[key] > 0
