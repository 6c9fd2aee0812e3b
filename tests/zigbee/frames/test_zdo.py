from __future__ import annotations

import pytest

from webapp.zigbee.frames.aps import ApsFrame, DeliveryMode
from webapp.zigbee.frames.mac import CapabilityInfo
from webapp.zigbee.frames.zdo import (
    DEVICE_ANNOUNCE_CLUSTER,
    DeviceAnnounce,
    check_device_announce,
    zdo_header,
)
from webapp.zigbee.types import EUI64, FrameError

DEVICE = EUI64.from_hex("00124B0001C0FFEE")
ANNOUNCE = DeviceAnnounce(0x81, 0x4F21, DEVICE, CapabilityInfo(mains_powered=True))


def test_device_announce_layout_and_round_trip() -> None:
    raw = ANNOUNCE.to_bytes()
    assert raw == bytes.fromhex("81214F") + DEVICE.le + bytes([0x84])
    assert DeviceAnnounce.from_bytes(raw) == ANNOUNCE


def test_device_announce_aps_header() -> None:
    header = ANNOUNCE.aps_header(0x20)
    assert header.to_bytes() == bytes.fromhex("0800130000000020")
    assert header.delivery_mode == DeliveryMode.BROADCAST
    frame = ApsFrame.from_bytes(header.to_bytes() + ANNOUNCE.to_bytes())
    check_device_announce(frame.header)
    assert DeviceAnnounce.from_bytes(frame.payload) == ANNOUNCE


def test_decoder_names_the_problem() -> None:
    raw = ANNOUNCE.to_bytes()
    with pytest.raises(FrameError, match="Device Announce truncated"):
        DeviceAnnounce.from_bytes(raw[:-1])
    with pytest.raises(FrameError, match="trailing"):
        DeviceAnnounce.from_bytes(raw + b"\x00")
    with pytest.raises(FrameError, match="not Device Announce"):
        check_device_announce(zdo_header(0x0005, 1))
    other = ApsFrame.from_bytes(bytes.fromhex("4001020709010105")).header
    with pytest.raises(FrameError, match="not a ZDO frame"):
        check_device_announce(other)
    assert zdo_header(DEVICE_ANNOUNCE_CLUSTER, 1).delivery_mode == DeliveryMode.UNICAST
