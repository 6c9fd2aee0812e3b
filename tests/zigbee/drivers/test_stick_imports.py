"""Stick libraries load only when a stick is chosen: the web app, the station, the radio
choice and the ConBee emulator start without bellows, zigpy-deconz or zigpy."""

from __future__ import annotations

from collections.abc import Callable

import pytest

STICK_LIBRARIES = ("bellows", "zigpy", "zigpy_deconz")


@pytest.fixture
def loaded_after(fresh_python: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """The stick libraries' modules loaded once ``module`` is imported."""

    def run(module: str) -> list[str]:
        return fresh_python(
            f"import sys, {module}\n"
            f"print(' '.join(m for m in sys.modules if m.split('.')[0] in {STICK_LIBRARIES!r}))"
        )

    return run


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
def test_no_stick_library_on_import(module: str, loaded_after) -> None:
    assert loaded_after(module) == []


def test_choosing_a_driver_loads_its_library(loaded_after) -> None:
    assert "zigpy_deconz" in loaded_after("webapp.zigbee.drivers.deconz.radio")
    assert "bellows" in loaded_after("webapp.zigbee.drivers.ezsp.radio")
