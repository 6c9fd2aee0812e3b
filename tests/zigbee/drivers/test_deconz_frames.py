"""The deCONZ frame layouts the emulator uses agree with zigpy-deconz, which the driver uses."""

from __future__ import annotations

import itertools

import pytest
from zigpy_deconz import api as zd

from webapp.zigbee.drivers.deconz import frames


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (frames.Status, zd.Status),
        (frames.NetworkState, zd.NetworkState2),
        (frames.DeviceStateFlags, zd.DeviceStateFlags),
        (frames.FirmwarePlatform, zd.FirmwarePlatform),
        (frames.NetworkParameter, zd.NetworkParameter),
    ],
)
def test_numbers_match_zigpy_deconz(ours: type, theirs: type) -> None:
    assert {m.name.upper(): int(m) for m in ours} == {m.name.upper(): int(m) for m in theirs}


def test_commands_are_zigpy_deconz_ones() -> None:
    for command in frames.Command:
        assert int(zd.CommandId[command.name.lower()]) == int(command)


def test_device_state_octet_is_zigpy_deconz_one() -> None:
    flags = list(frames.DeviceStateFlags)
    for state in frames.NetworkState:
        for n in range(len(flags) + 1):
            for chosen in itertools.combinations(flags, n):
                ours = frames.DeviceStateFlags(sum(chosen))
                theirs = zd.DeviceState(
                    network_state=zd.NetworkState2(int(state)),
                    device_state=zd.DeviceStateFlags(int(ours)),
                )
                assert frames.device_state(state, ours) == theirs.serialize()
