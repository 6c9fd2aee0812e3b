"""--radio on the server: auto without a stick runs the simulator and says so; a real stick
without provisioned credentials, or a bad name, stops start-up with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FAST, login
from webapp.station import StationError, open_app
from webapp.web.app import shutdown
from webapp.zigbee.drivers import select


def test_auto_without_a_stick_shows_the_fallback_banner(demo_dir: Path, tmp_path, monkeypatch):
    monkeypatch.setattr(select, "BY_ID_DIR", tmp_path / "no-by-id")
    monkeypatch.setattr(select, "SYS_TTY_DIR", tmp_path / "no-tty")
    app = open_app(demo_dir, radio="auto", time_scale=FAST, test_config={"TESTING": True})
    try:
        client = app.test_client()
        login(client, "supervisor")
        page = client.get("/s/device").get_data(as_text=True)
        assert "No Zigbee stick found; running on the simulated HAN" in page
        assert app.config["HHT_RADIO"] == "sim"
    finally:
        shutdown(app)


@pytest.mark.parametrize(
    "radio, problem",
    [
        ("ezsp:/dev/ttyUSB9", "hht zigbee provision"),
        ("znp:/dev/ttyUSB0", "unknown radio"),
    ],
)
def test_unusable_radio_stops_start_up_with_the_reason(demo_dir: Path, radio, problem):
    with pytest.raises(StationError, match=problem):
        open_app(demo_dir, radio=radio, time_scale=FAST, test_config={"TESTING": True})
