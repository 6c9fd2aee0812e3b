"""The registration frame (sealed install code) and the Time cluster read, both ways."""

from __future__ import annotations

import pytest

from webapp.zigbee.frames.registration import (
    Registration,
    RegistrationStatus,
    decode_registration_response,
    encode_registration_response,
    open_registration,
    seal_registration,
)
from webapp.zigbee.frames.time_cluster import (
    ZIGBEE_EPOCH,
    HubTime,
    decode_read_time,
    decode_time_response,
    encode_read_time,
    encode_time_response,
)
from webapp.zigbee.types import EUI64, FrameError

HHT = EUI64.from_hex("70B3D5FFFE00A001")
KEY = bytes(range(16))
CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")


def test_registration_round_trip_and_confidentiality() -> None:
    frame = seal_registration(Registration(HHT, CODE), KEY, HHT, frame_counter=7, tsn=9)
    assert CODE not in frame and HHT.le not in frame  # sealed, not readable on air
    header, registration = open_registration(frame, KEY, HHT)
    assert header.tsn == 9 and registration == Registration(HHT, CODE)


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda f: f[:-1] + bytes([f[-1] ^ 1]), "MIC"),
        (lambda f: f[:8], "too short"),
        (lambda f: f[:2] + b"\x05" + f[3:], "not a Registration"),
    ],
)
def test_tampered_registration_is_refused(change, problem) -> None:
    frame = seal_registration(Registration(HHT, CODE), KEY, HHT, frame_counter=1, tsn=1)
    with pytest.raises(FrameError, match=problem):
        open_registration(change(frame), KEY, HHT)


def test_wrong_key_or_sender_fails_the_mic() -> None:
    frame = seal_registration(Registration(HHT, CODE), KEY, HHT, frame_counter=1, tsn=1)
    with pytest.raises(FrameError, match="MIC"):
        open_registration(frame, bytes(16), HHT)
    with pytest.raises(FrameError, match="MIC"):
        open_registration(frame, KEY, EUI64.from_hex("70B3D5FFFE00A002"))


def test_registration_response_round_trip() -> None:
    for status in RegistrationStatus:
        header, value = decode_registration_response(encode_registration_response(status, 4))
        assert value == status and header.tsn == 4
    with pytest.raises(FrameError):
        decode_registration_response(encode_read_time(1))


def test_time_read_round_trip() -> None:
    assert decode_read_time(encode_read_time(12)).tsn == 12
    for synchronised in (True, False):
        reading = HubTime(ZIGBEE_EPOCH + 834_000_000, synchronised)
        assert decode_time_response(encode_time_response(reading, 3)) == reading


def test_time_response_without_time_is_refused() -> None:
    frame = encode_time_response(HubTime(ZIGBEE_EPOCH + 5, True), 1)
    failed = frame[:3] + bytes([0x00, 0x00, 0x86])  # Time: UNSUPPORTED_ATTRIBUTE
    with pytest.raises(FrameError, match="Time attribute"):
        decode_time_response(failed)
    with pytest.raises(FrameError):
        decode_time_response(frame[:-3])
