from __future__ import annotations

import pytest

from webapp.zigbee.frames.aps import DeliveryMode
from webapp.zigbee.frames.interpan import (
    MAX_MAC_HEADER,
    InterPanFrame,
    is_inter_pan,
)
from webapp.zigbee.frames.key_establishment import EphemeralData, encode_ke
from webapp.zigbee.frames.mac import MacFrame, MacFrameType, MacHeader
from webapp.zigbee.frames.zcl import Direction
from webapp.zigbee.types import EUI64, FrameError

HUB = EUI64.from_hex("00124B00AABBCCDD")
HHT = EUI64.from_hex("00124B0001C0FFEE")
ZCL = encode_ke(EphemeralData(b"\x02" + bytes(36)), Direction.CLIENT_TO_SERVER, 1)


def unicast() -> InterPanFrame:
    return InterPanFrame(
        seq=9,
        dst_pan=0x1A2B,
        dst=HUB,
        src_pan=0xFFFF,
        src=HHT,
        cluster_id=0x0800,
        payload=ZCL,
        ack_request=True,
    )


def test_unicast_layout() -> None:
    data = unicast().to_bytes()
    header_len = 2 + 1 + 2 + 8 + 2 + 8
    assert header_len <= MAX_MAC_HEADER
    fc = int.from_bytes(data[:2], "little")
    assert fc & 7 == 1 and not fc & 0x40  # data frame, no PAN ID compression
    assert (fc >> 10) & 3 == 3 and (fc >> 14) & 3 == 3
    nwk_aps = data[header_len : header_len + 7]
    assert nwk_aps == bytes.fromhex("0B000300080901")
    assert data[header_len + 7 :] == ZCL
    assert is_inter_pan(data[header_len:])


@pytest.mark.parametrize("fcs", [False, True])
def test_round_trips(fcs: bool) -> None:
    frames = [
        unicast(),
        InterPanFrame(
            seq=1,
            dst_pan=0xFFFF,
            dst=0xFFFF,
            src_pan=0x1A2B,
            src=HHT,
            cluster_id=0x1000,
            payload=b"\x11\x01\x00",
            delivery_mode=DeliveryMode.BROADCAST,
            profile_id=0xC05E,
        ),
        InterPanFrame(
            seq=2,
            dst_pan=0xFFFF,
            dst=0xFFFF,
            src_pan=0x1A2B,
            src=HHT,
            cluster_id=0x0800,
            payload=b"",
            delivery_mode=DeliveryMode.GROUP,
            group=0x1234,
        ),
    ]
    for frame in frames:
        data = frame.to_bytes(fcs=fcs)
        assert InterPanFrame.from_bytes(data, fcs=fcs) == frame
    assert frames[1].to_bytes()[-3 - 5 : -3][:1] == b"\x0b"  # APS FC broadcast inter-PAN


def test_interpan_errors() -> None:
    good = unicast()
    compressed = MacFrame(
        MacHeader(
            MacFrameType.DATA, 1, dst_pan=1, dst=HUB, src_pan=1, src=HHT, pan_id_compression=True
        ),
        bytes.fromhex("0B00030008090100"),
    ).to_bytes()
    with pytest.raises(FrameError):
        InterPanFrame.from_bytes(compressed)
    short_src = MacFrame(
        MacHeader(MacFrameType.DATA, 1, dst_pan=1, dst=HUB, src_pan=1, src=0x1234),
        bytes.fromhex("0B00030008090100"),
    ).to_bytes()
    with pytest.raises(FrameError):
        InterPanFrame.from_bytes(short_src)
    normal_nwk = good.to_bytes()
    header_len = 23
    with pytest.raises(FrameError):
        InterPanFrame.from_bytes(
            normal_nwk[:header_len] + b"\x08\x00" + normal_nwk[header_len + 2 :]
        )
    with pytest.raises(FrameError):
        InterPanFrame.from_bytes(normal_nwk[: header_len + 4])
    with pytest.raises(ValueError):
        InterPanFrame(
            seq=1,
            dst_pan=1,
            dst=1,
            src_pan=1,
            src=HHT,
            cluster_id=1,
            payload=b"",
            delivery_mode=DeliveryMode.GROUP,
        ).to_bytes()
    assert not is_inter_pan(b"\x08\x00")
