"""Stick libraries load only when a stick is chosen: the web app, the station, the radio
choice and the ConBee emulator start without bellows, zigpy-deconz or zigpy."""

from __future__ import annotations

import subprocess
import sys

import pytest

STICK_LIBRARIES = ("bellows", "zigpy", "zigpy_deconz")
IMPORT_TIMEOUT_S = 60


def _loaded_after(module: str) -> list[str]:
    script = (
        f"import sys, {module}\n"
        f"print(' '.join(m for m in sys.modules if m.split('.')[0] in {STICK_LIBRARIES!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_S,
        check=True,
    )
    return done.stdout.split()


@pytest.mark.parametrize(
    "module",
    [
        "webapp.station",
        "webapp.web",
        "webapp.web.app",
        "webapp.zigbee.drivers.select",
        "webapp.zigbee.sticks",
        "webapp.zigbee.drivers.deconz",
        "webapp.zigbee.drivers.ezsp",
        "webapp.sim.emulators.deconz",
    ],
)
def test_no_stick_library_on_import(module: str) -> None:
    assert _loaded_after(module) == []


def test_choosing_a_driver_loads_its_library() -> None:
    assert "zigpy_deconz" in _loaded_after("webapp.zigbee.drivers.deconz.radio")
    assert "bellows" in _loaded_after("webapp.zigbee.drivers.ezsp.radio")
