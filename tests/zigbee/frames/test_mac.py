from __future__ import annotations

import pytest

from webapp.zigbee.frames.mac import (
    BeaconFrame,
    MacFrame,
    MacFrameType,
    MacHeader,
    SuperframeSpec,
    ZigbeeBeaconPayload,
    add_fcs,
    beacon_request,
    crc16_kermit,
    strip_fcs,
)
from webapp.zigbee.types import EUI64, FrameError

HUB = EUI64.from_hex("00124B00AABBCCDD")
HHT = EUI64.from_hex("00124B0001C0FFEE")


def test_fcs_is_crc16_kermit() -> None:
    assert crc16_kermit(b"123456789") == 0x2189
    frame = add_fcs(b"\x01\x02\x03")
    assert strip_fcs(frame) == b"\x01\x02\x03"
    with pytest.raises(FrameError):
        strip_fcs(frame[:-1] + bytes([frame[-1] ^ 1]))


@pytest.mark.parametrize(
    "header",
    [
        MacHeader(
            MacFrameType.DATA,
            1,
            dst_pan=0x1A2B,
            dst=0x0000,
            src=0x1234,
            src_pan=0x1A2B,
            pan_id_compression=True,
            ack_request=True,
        ),
        MacHeader(MacFrameType.DATA, 2, dst_pan=0xFFFF, dst=0xFFFF, src_pan=0x1A2B, src=HHT),
        MacHeader(
            MacFrameType.DATA,
            3,
            dst_pan=0x1A2B,
            dst=HUB,
            src_pan=0xFFFF,
            src=HHT,
            security=True,
            frame_pending=True,
            frame_version=1,
        ),
        MacHeader(MacFrameType.ACK, 4),
        MacHeader(MacFrameType.COMMAND, 5, dst_pan=0xFFFF, dst=0xFFFF),
    ],
)
@pytest.mark.parametrize("fcs", [False, True])
def test_mac_frame_round_trip(header: MacHeader, fcs: bool) -> None:
    frame = MacFrame(header, b"payload")
    assert MacFrame.from_bytes(frame.to_bytes(fcs=fcs), fcs=fcs) == frame


def test_mac_header_layout() -> None:
    header = MacHeader(
        MacFrameType.DATA,
        0x42,
        dst_pan=0x1A2B,
        dst=0x0000,
        src_pan=0x1A2B,
        src=0x1234,
        pan_id_compression=True,
        ack_request=True,
    )
    # FC 0x8861: data, ack request, PAN ID compression, short dst and src
    assert header.to_bytes() == bytes.fromhex("6188422B1A00003412")


def test_beacon_request_layout() -> None:
    assert beacon_request(0x10) == bytes.fromhex("030810FFFFFFFF07")


def test_mac_errors() -> None:
    with pytest.raises(FrameError):
        MacFrame.from_bytes(b"\x01")
    with pytest.raises(FrameError):
        MacFrame.from_bytes(bytes.fromhex("0104") + b"\x00" * 8)  # reserved dst mode 1
    with pytest.raises(ValueError):
        MacHeader(MacFrameType.DATA, 0, dst=0x1234).to_bytes()
    with pytest.raises(ValueError):
        MacHeader(MacFrameType.DATA, 0, dst_pan=1, dst=0x10000).to_bytes()


def test_superframe_spec_bits() -> None:
    spec = SuperframeSpec(pan_coordinator=True, association_permit=True)
    assert spec.to_int() == 0xCFFF
    assert SuperframeSpec.from_int(0xCFFF) == spec
    odd = SuperframeSpec(1, 2, 3, True, False, True)
    assert SuperframeSpec.from_int(odd.to_int()) == odd


def zigbee_beacon() -> BeaconFrame:
    return BeaconFrame(
        seq=0x33,
        src_pan=0x1A2B,
        src=0x0000,
        superframe=SuperframeSpec(pan_coordinator=True, association_permit=True),
        payload=ZigbeeBeaconPayload(extended_pan_id=HUB, device_depth=0, update_id=3),
    )


def test_beacon_layout_and_extended_pan_id() -> None:
    data = zigbee_beacon().to_bytes()
    assert data[:7] == bytes.fromhex("0080332B1A0000")  # FC beacon, short source
    assert data[7:11] == bytes.fromhex("FFCF0000")  # superframe, GTS, pending
    payload = data[11:]
    assert payload[:3] == bytes.fromhex("002284")
    assert payload[3:11] == HUB.le
    assert payload[11:] == bytes.fromhex("FFFFFF03")
    beacon = BeaconFrame.from_bytes(data)
    assert beacon == zigbee_beacon()
    assert beacon.extended_pan_id == HUB
    assert str(beacon.extended_pan_id) == "00124B00AABBCCDD"


@pytest.mark.parametrize("fcs", [False, True])
def test_beacon_round_trips(fcs: bool) -> None:
    variants = [
        zigbee_beacon(),
        BeaconFrame(
            seq=1,
            src_pan=0x0001,
            src=HUB,
            superframe=SuperframeSpec(beacon_order=15, superframe_order=15),
            payload=ZigbeeBeaconPayload(
                extended_pan_id=HHT,
                router_capacity=False,
                end_device_capacity=False,
                device_depth=5,
                stack_profile=1,
                protocol_version=2,
                tx_offset=0x123456,
            ),
            pending_short=(0x1111, 0x2222),
            pending_long=(HHT,),
        ),
        BeaconFrame(
            seq=2,
            src_pan=5,
            src=6,
            superframe=SuperframeSpec(),
            payload=b"\x01xyz",
            gts_permit=True,
        ),
        BeaconFrame(
            seq=3,
            src_pan=5,
            src=6,
            superframe=SuperframeSpec(),
            gts_count=1,
            gts_fields=bytes.fromhex("01341203"),
        ),
    ]
    for beacon in variants:
        assert BeaconFrame.from_bytes(beacon.to_bytes(fcs=fcs), fcs=fcs) == beacon
    assert variants[2].extended_pan_id is None


def test_beacon_errors() -> None:
    data = zigbee_beacon().to_bytes()
    with pytest.raises(FrameError):
        BeaconFrame.from_bytes(data[:8])
    with pytest.raises(FrameError):
        BeaconFrame.from_bytes(MacFrame(MacHeader(MacFrameType.ACK, 1)).to_bytes())
    with pytest.raises(FrameError):
        ZigbeeBeaconPayload.from_bytes(bytes(16))
