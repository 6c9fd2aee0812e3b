from __future__ import annotations

import pytest

from webapp.zigbee.frames.aps import (
    ApsFrame,
    ApsFrameType,
    ApsHeader,
    DeliveryMode,
    Fragmentation,
)
from webapp.zigbee.frames.nwk import NwkFrame, NwkFrameType, NwkHeader
from webapp.zigbee.types import EUI64, FrameError

HUB = EUI64.from_hex("00124B00AABBCCDD")
HHT = EUI64.from_hex("00124B0001C0FFEE")


@pytest.mark.parametrize(
    "header",
    [
        NwkHeader(dst=0x0000, src=0x1234, radius=30, seq=7),
        NwkHeader(
            dst=0xFFFD,
            src=0x0000,
            radius=1,
            seq=255,
            discover_route=1,
            security=True,
            end_device_initiator=True,
            dst_ieee=HUB,
            src_ieee=HHT,
        ),
        NwkHeader(
            dst=0x0001,
            src=0x0002,
            radius=5,
            seq=1,
            frame_type=NwkFrameType.COMMAND,
            multicast_control=0x05,
            source_route=(0x1111, 0x2222),
            source_route_index=1,
        ),
    ],
)
def test_nwk_round_trip(header: NwkHeader) -> None:
    frame = NwkFrame(header, b"aps")
    assert NwkFrame.from_bytes(frame.to_bytes()) == frame


def test_nwk_layout() -> None:
    header = NwkHeader(dst=0x0000, src=0x1234, radius=30, seq=7, discover_route=1)
    assert header.to_bytes() == bytes.fromhex("4800000034121E07")
    ieee = NwkHeader(dst=0, src=1, radius=1, seq=1, src_ieee=HHT)
    assert ieee.to_bytes()[1] & 0x10 and ieee.to_bytes()[-8:] == HHT.le


def test_nwk_errors() -> None:
    with pytest.raises(FrameError):
        NwkFrame.from_bytes(bytes.fromhex("0B00"))  # Inter-PAN stub, not a NWK data frame
    with pytest.raises(FrameError):
        NwkFrame.from_bytes(bytes.fromhex("4808000034121E07"))  # says dst IEEE, has none
    with pytest.raises(ValueError):
        NwkHeader(0, 0, 0, 0, frame_type=NwkFrameType.INTER_PAN).to_bytes()


APS_HEADERS = [
    ApsHeader(
        ApsFrameType.DATA, 1, dst_endpoint=1, cluster_id=0x0704, profile_id=0x0109, src_endpoint=2
    ),
    ApsHeader(
        ApsFrameType.DATA,
        2,
        delivery_mode=DeliveryMode.GROUP,
        group=0x1234,
        cluster_id=6,
        profile_id=0x0104,
        src_endpoint=1,
        security=True,
    ),
    ApsHeader(
        ApsFrameType.DATA,
        3,
        delivery_mode=DeliveryMode.BROADCAST,
        dst_endpoint=0xFF,
        cluster_id=0,
        profile_id=0,
        src_endpoint=0,
    ),
    ApsHeader(
        ApsFrameType.DATA,
        4,
        dst_endpoint=1,
        cluster_id=0x0704,
        profile_id=0x0109,
        src_endpoint=1,
        ack_request=True,
        fragmentation=Fragmentation.FIRST,
        block_number=5,
    ),
    ApsHeader(
        ApsFrameType.DATA,
        4,
        dst_endpoint=1,
        cluster_id=0x0704,
        profile_id=0x0109,
        src_endpoint=1,
        ack_request=True,
        fragmentation=Fragmentation.SUBSEQUENT,
        block_number=3,
    ),
    ApsHeader(
        ApsFrameType.ACK,
        4,
        dst_endpoint=1,
        cluster_id=0x0704,
        profile_id=0x0109,
        src_endpoint=1,
        fragmentation=Fragmentation.SUBSEQUENT,
        block_number=2,
        ack_bitfield=0x0B,
    ),
    ApsHeader(
        ApsFrameType.ACK, 5, dst_endpoint=1, cluster_id=0x0704, profile_id=0x0109, src_endpoint=1
    ),
    ApsHeader(ApsFrameType.ACK, 6, ack_format=True),
    ApsHeader(ApsFrameType.COMMAND, 7, security=True),
]


@pytest.mark.parametrize("header", APS_HEADERS)
def test_aps_round_trip(header: ApsHeader) -> None:
    frame = ApsFrame(header, b"\x01\x02")
    assert ApsFrame.from_bytes(frame.to_bytes()) == frame


def test_aps_layout() -> None:
    first = APS_HEADERS[3].to_bytes()
    assert first == bytes.fromhex("C0010407090101040105")
    ack = APS_HEADERS[5].to_bytes()
    assert ack == bytes.fromhex("820104070901010402020B")
    assert APS_HEADERS[1].to_bytes()[:3] == bytes.fromhex("2C3412")


def test_aps_errors() -> None:
    with pytest.raises(FrameError):
        ApsFrame.from_bytes(b"\x03")  # Inter-PAN stub
    with pytest.raises(FrameError):
        ApsFrame.from_bytes(b"\x04\x01\x00\x00\x00\x00\x01\x01")  # delivery mode 1
    with pytest.raises(FrameError):
        ApsFrame.from_bytes(bytes.fromhex("80010407090101040301"))  # fragmentation 3
    with pytest.raises(FrameError):
        ApsFrame.from_bytes(bytes.fromhex("0001"))
    with pytest.raises(ValueError):
        ApsHeader(ApsFrameType.DATA, 1).to_bytes()
    with pytest.raises(ValueError):
        ApsHeader(ApsFrameType.INTER_PAN, 1).to_bytes()
