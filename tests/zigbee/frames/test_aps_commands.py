from __future__ import annotations

import pytest

from webapp.zigbee.frames.aps import ApsFrame, ApsFrameType
from webapp.zigbee.frames.aps_commands import (
    ApsCommandId,
    TransportNetworkKey,
    command_header,
    split_command,
)
from webapp.zigbee.types import EUI64, FrameError

TC = EUI64.from_hex("00124B00AABBCCDD")
DEVICE = EUI64.from_hex("00124B0001C0FFEE")
NWK_KEY = bytes.fromhex("01030507090B0D0F00020406080A0C0D")


def test_transport_network_key_layout_and_round_trip() -> None:
    command = TransportNetworkKey(NWK_KEY, 4, DEVICE, TC)
    raw = command.to_bytes()
    assert raw == bytes.fromhex("0501") + NWK_KEY + bytes([4]) + DEVICE.le + TC.le
    assert len(raw) == 35
    assert TransportNetworkKey.from_bytes(raw) == command
    assert split_command(raw) == (ApsCommandId.TRANSPORT_KEY, raw[1:])


def test_command_header() -> None:
    header = command_header(0x42)
    assert header.frame_type == ApsFrameType.COMMAND and header.security
    assert header.to_bytes() == bytes.fromhex("2142")
    frame = ApsFrame.from_bytes(command_header(1, security=False).to_bytes() + b"\x05")
    assert frame.header.frame_type == ApsFrameType.COMMAND and frame.payload == b"\x05"


def test_decoder_names_the_problem() -> None:
    raw = TransportNetworkKey(NWK_KEY, 0, DEVICE, TC).to_bytes()
    with pytest.raises(FrameError, match="truncated"):
        TransportNetworkKey.from_bytes(raw[:-1])
    with pytest.raises(FrameError, match="truncated"):
        TransportNetworkKey.from_bytes(b"")
    with pytest.raises(FrameError, match="1 unexpected trailing octets"):
        TransportNetworkKey.from_bytes(raw + b"\x00")
    with pytest.raises(FrameError, match="not Transport Key"):
        TransportNetworkKey.from_bytes(b"\x06" + raw[1:])
    with pytest.raises(FrameError, match="key type 4, not the network key"):
        TransportNetworkKey.from_bytes(raw[:1] + b"\x04" + raw[2:])


def test_bad_values() -> None:
    with pytest.raises(ValueError):
        TransportNetworkKey(NWK_KEY[:15], 0, DEVICE, TC)
    with pytest.raises(ValueError):
        TransportNetworkKey(NWK_KEY, 256, DEVICE, TC)
