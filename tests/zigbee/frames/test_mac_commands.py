from __future__ import annotations

import pytest

from webapp.zigbee.frames.mac import (
    AssociationRequest,
    AssociationResponse,
    AssociationStatus,
    CapabilityInfo,
    DataRequest,
    MacCommand,
    MacCommandId,
    MacFrame,
    MacFrameType,
    beacon_request,
    data_frame,
    read_data_frame,
)
from webapp.zigbee.types import EUI64, FrameError

TC = EUI64.from_hex("00124B00AABBCCDD")
DEVICE = EUI64.from_hex("00124B0001C0FFEE")
PAN = 0x1A2B
SLEEPY = CapabilityInfo()
ROUTER = CapabilityInfo(
    full_function_device=True, mains_powered=True, receiver_on_when_idle=True, security=False
)


def test_capability_bits() -> None:
    assert SLEEPY.to_int() == 0x80
    assert ROUTER.to_int() == 0x8E
    every = CapabilityInfo(True, True, True, True, True, True)
    assert every.to_int() == 0xCF
    for value in (0x00, 0x80, 0x8E, 0xCF):
        assert CapabilityInfo.from_int(value).to_int() == value


def test_association_request_layout_and_round_trip() -> None:
    request = AssociationRequest(0x12, PAN, 0x0000, DEVICE, ROUTER)
    raw = request.to_bytes()
    # command, ack request; short destination, extended source, no PAN ID compression
    assert raw[:3] == bytes.fromhex("23C812")
    assert raw[3:7] == bytes.fromhex("2B1A0000")
    assert raw[7:9] == bytes.fromhex("FFFF")  # source PAN: not yet in one
    assert raw[9:17] == DEVICE.le
    assert raw[17:] == bytes.fromhex("018E")
    assert AssociationRequest.from_bytes(raw) == request
    assert AssociationRequest.from_bytes(request.to_bytes(fcs=True), fcs=True) == request


def test_association_response_layout_and_round_trip() -> None:
    response = AssociationResponse(0x34, PAN, TC, DEVICE, 0x4F21)
    raw = response.to_bytes()
    # command, ack request, PAN ID compression; extended destination and source
    assert raw[:3] == bytes.fromhex("63CC34")
    assert raw[3:5] == bytes.fromhex("2B1A")
    assert raw[5:13] == DEVICE.le and raw[13:21] == TC.le
    assert raw[21:] == bytes.fromhex("02214F00")
    assert AssociationResponse.from_bytes(raw) == response
    denied = AssociationResponse(1, PAN, TC, DEVICE, 0xFFFF, AssociationStatus.PAN_AT_CAPACITY)
    assert AssociationResponse.from_bytes(denied.to_bytes(fcs=True), fcs=True) == denied


@pytest.mark.parametrize("device", [DEVICE, 0x4F21])
def test_data_request_round_trip(device: int | EUI64) -> None:
    request = DataRequest(0x56, PAN, 0x0000, device)
    raw = request.to_bytes(fcs=True)
    assert raw[-3] == MacCommandId.DATA_REQUEST
    assert DataRequest.from_bytes(raw, fcs=True) == request


def test_generic_command_and_beacon_request() -> None:
    command = MacCommand.from_bytes(beacon_request(9))
    assert command.command_id == MacCommandId.BEACON_REQUEST and command.fields == b""
    assert command.to_bytes() == beacon_request(9)


def test_command_decoders_name_the_problem() -> None:
    request = AssociationRequest(1, PAN, 0x0000, DEVICE, SLEEPY).to_bytes()
    with pytest.raises(FrameError, match="not ASSOCIATION_RESPONSE"):
        AssociationResponse.from_bytes(request)
    with pytest.raises(FrameError, match="1 octets of fields, not 3"):
        AssociationResponse.from_bytes(request[:-2] + b"\x02\x00")
    with pytest.raises(FrameError, match="0 octets of fields, not 1"):
        AssociationRequest.from_bytes(request[:-1])
    with pytest.raises(FrameError, match="truncated"):
        AssociationRequest.from_bytes(request[:-2])  # the command id itself is cut
    with pytest.raises(FrameError, match="truncated"):
        AssociationRequest.from_bytes(request[:5])
    with pytest.raises(FrameError, match="not a MAC command frame"):
        MacCommand.from_bytes(data_frame(1, pan=PAN, dst=0, src=1, payload=b"x").to_bytes())
    with pytest.raises(FrameError, match="FCS"):
        AssociationRequest.from_bytes(request + b"\x00\x00", fcs=True)
    response = bytearray(AssociationResponse(1, PAN, TC, DEVICE, 5).to_bytes())
    response[-1] = 0x7F
    with pytest.raises(FrameError, match="unknown association status 0x7F"):
        AssociationResponse.from_bytes(bytes(response))
    with pytest.raises(FrameError, match="extended source"):
        AssociationRequest.from_bytes(DataRequest(1, PAN, 0, 0x1234).to_bytes()[:-1] + b"\x01\x80")


def test_data_frame_helper() -> None:
    frame = data_frame(7, pan=PAN, dst=0x0000, src=0x4F21, payload=b"nwk")
    raw = frame.to_bytes(fcs=True)
    assert raw[:9] == bytes.fromhex("6188072B1A0000214F")
    assert read_data_frame(raw, fcs=True) == frame
    broadcast = data_frame(8, pan=PAN, dst=0xFFFF, src=0x4F21, payload=b"nwk")
    assert not broadcast.header.ack_request
    extended = data_frame(9, pan=PAN, dst=TC, src=DEVICE, payload=b"x")
    assert MacFrame.from_bytes(extended.to_bytes()) == extended
    assert extended.header.frame_type == MacFrameType.DATA


def test_read_data_frame_refuses_others() -> None:
    with pytest.raises(FrameError, match="not a MAC data frame"):
        read_data_frame(beacon_request(1))
    with pytest.raises(FrameError, match="truncated"):
        read_data_frame(bytes.fromhex("6188072B1A00"))
    with pytest.raises(FrameError, match="reserved MAC addressing mode"):
        read_data_frame(bytes.fromhex("4185") + bytes(10))
