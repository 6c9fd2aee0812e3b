from __future__ import annotations

import pytest

from webapp.zigbee.frames.gbhrgp import (
    HrgpGet,
    HrgpGetResponse,
    HrgpPut,
    HrgpType,
    decode_hrgp,
)
from webapp.zigbee.frames.key_establishment import (
    ConfirmKeyData,
    EphemeralData,
    InitiateKeyEstablishment,
    TerminateKeyEstablishment,
    TerminateStatus,
    decode_ke,
    encode_ke,
)
from webapp.zigbee.frames.tunneling import (
    GB_HRGP_REQUEST,
    AckTransferData,
    CloseTunnel,
    GetSupportedTunnelProtocols,
    ReadyData,
    RequestTunnel,
    RequestTunnelResponse,
    SupportedTunnelProtocolsResponse,
    TransferData,
    TransferDataError,
    TransferDataStatus,
    TunnelClosureNotification,
    TunnelStatus,
    command_id,
    decode_tunneling,
    encode_tunneling,
)
from webapp.zigbee.frames.zcl import Direction, ZclFrame, ZclFrameType, ZclHeader
from webapp.zigbee.types import FrameError

C2S, S2C = Direction.CLIENT_TO_SERVER, Direction.SERVER_TO_CLIENT


@pytest.mark.parametrize(
    "header",
    [
        ZclHeader(command_id=0x02, tsn=7),
        ZclHeader(command_id=0x01, tsn=255, direction=S2C, disable_default_response=True),
        ZclHeader(command_id=0x0A, tsn=0, frame_type=ZclFrameType.GLOBAL, manufacturer_code=0x1234),
    ],
)
def test_zcl_header_round_trip(header: ZclHeader) -> None:
    frame = ZclFrame(header, b"\x01\x02")
    assert ZclFrame.from_bytes(frame.to_bytes()) == frame


def test_zcl_header_layout_and_errors() -> None:
    assert ZclHeader(0x02, 0x10, direction=S2C, disable_default_response=True).to_bytes() == (
        bytes.fromhex("191002")
    )
    assert ZclHeader(0x0A, 1, ZclFrameType.GLOBAL, manufacturer_code=0x1234).to_bytes() == (
        bytes.fromhex("04 3412 01 0A")
    )
    with pytest.raises(FrameError):
        ZclFrame.from_bytes(b"\x02\x01\x00")  # reserved frame type
    with pytest.raises(FrameError):
        ZclFrame.from_bytes(b"\x01\x01")


KE_COMMANDS = [
    InitiateKeyEstablishment(2, 5, 7, bytes(range(74))),
    InitiateKeyEstablishment(1, 0xFF, 0, bytes(48)),
    EphemeralData(b"\x03" + bytes(36)),
    ConfirmKeyData(bytes(range(16))),
    TerminateKeyEstablishment(TerminateStatus.UNKNOWN_ISSUER, 30, 2),
]


@pytest.mark.parametrize("command", KE_COMMANDS, ids=lambda c: type(c).__name__)
@pytest.mark.parametrize("direction", [C2S, S2C])
def test_key_establishment_round_trip(command, direction: Direction) -> None:
    header, decoded = decode_ke(encode_ke(command, direction, 0x42))
    assert decoded == command
    assert header.direction == direction and header.tsn == 0x42
    assert header.command_id == command.command_id


def test_key_establishment_layout() -> None:
    frame = encode_ke(InitiateKeyEstablishment(2, 5, 7, b"\xaa" * 74), C2S, 1)
    assert frame[:7] == bytes.fromhex("11010002000507")
    assert encode_ke(TerminateKeyEstablishment(1, 30, 2), S2C, 9) == bytes.fromhex(
        "19 09 03 01 1E 0200"
    )


def test_key_establishment_errors() -> None:
    with pytest.raises(FrameError):
        decode_ke(bytes.fromhex("110104"))  # unknown command
    with pytest.raises(FrameError):
        decode_ke(bytes.fromhex("110102") + bytes(15))  # short MAC
    with pytest.raises(FrameError):
        decode_ke(bytes.fromhex("1101030100"))  # short terminate
    with pytest.raises(FrameError):
        decode_ke(bytes.fromhex("11010002000505"))  # no identity
    with pytest.raises(FrameError):
        decode_ke(bytes.fromhex("110101"))  # no ephemeral data
    with pytest.raises(FrameError):
        decode_ke(bytes.fromhex("000102") + bytes(16))  # global frame


TUNNEL_CASES = [
    (GB_HRGP_REQUEST, C2S, 0x00),
    (CloseTunnel(3), C2S, 0x01),
    (TransferData(3, b"\x03hello"), C2S, 0x02),
    (TransferDataError(3, TransferDataStatus.DATA_OVERFLOW), C2S, 0x03),
    (AckTransferData(3, 1500), C2S, 0x04),
    (ReadyData(3, 1200), C2S, 0x05),
    (GetSupportedTunnelProtocols(0), C2S, 0x06),
    (RequestTunnelResponse(3, TunnelStatus.SUCCESS, 1500), S2C, 0x00),
    (TransferData(3, b"\x02\x00msg"), S2C, 0x01),
    (TransferDataError(3, TransferDataStatus.NO_SUCH_TUNNEL), S2C, 0x02),
    (AckTransferData(3, 0), S2C, 0x03),
    (ReadyData(3, 10), S2C, 0x04),
    (SupportedTunnelProtocolsResponse(True, ((0xFFFF, 6), (0x1234, 200))), S2C, 0x05),
    (SupportedTunnelProtocolsResponse(False, ()), S2C, 0x05),
    (TunnelClosureNotification(3), S2C, 0x06),
]


@pytest.mark.parametrize(
    ("command", "direction", "cid"), TUNNEL_CASES, ids=lambda v: type(v).__name__
)
def test_tunneling_round_trip(command, direction: Direction, cid: int) -> None:
    frame = encode_tunneling(command, direction, 5)
    assert frame[2] == cid == command_id(command, direction)
    header, decoded = decode_tunneling(frame)
    assert decoded == command and header.direction == direction


def test_gb_hrgp_tunnel_request_layout() -> None:
    assert RequestTunnel(6, 0xFFFF, False, 1500) == GB_HRGP_REQUEST
    assert encode_tunneling(GB_HRGP_REQUEST, C2S, 1) == bytes.fromhex("01010006FFFF00DC05")
    rsp = encode_tunneling(RequestTunnelResponse(1, 0, 1500), S2C, 1)
    assert rsp == bytes.fromhex("090100010000DC05")


def test_tunneling_errors() -> None:
    with pytest.raises(ValueError):
        encode_tunneling(RequestTunnel(6, 0xFFFF, False, 1500), S2C, 1)
    with pytest.raises(ValueError):
        encode_tunneling(TunnelClosureNotification(1), C2S, 1)
    with pytest.raises(FrameError):
        decode_tunneling(bytes.fromhex("010107"))  # no client command 7
    with pytest.raises(FrameError):
        decode_tunneling(bytes.fromhex("01010006FFFF00DC"))  # truncated
    with pytest.raises(FrameError):
        decode_tunneling(bytes.fromhex("0101010100FF"))  # trailing octet
    with pytest.raises(FrameError):
        decode_tunneling(bytes.fromhex("000100"))  # global command


HRGP = [HrgpGet(), HrgpGetResponse(2, b"\xdd\x00gbcs"), HrgpGetResponse(0, b""), HrgpPut(b"\xdd")]


@pytest.mark.parametrize("message", HRGP, ids=lambda m: type(m).__name__)
def test_gb_hrgp_round_trip(message) -> None:
    data = message.to_bytes()
    assert decode_hrgp(data) == message
    tunnelled = encode_tunneling(TransferData(7, data), C2S, 1)
    assert decode_hrgp(decode_tunneling(tunnelled)[1].data) == message


def test_gb_hrgp_layout_and_errors() -> None:
    assert HrgpGet().to_bytes() == b"\x01"
    assert HrgpGetResponse(3, b"M").to_bytes() == b"\x02\x03M"
    assert HrgpPut(b"M").to_bytes() == b"\x03M"
    assert HrgpType.PUT == 3
    for bad in (b"", b"\x01\x00", b"\x02", b"\x04x"):
        with pytest.raises(FrameError):
            decode_hrgp(bad)
    with pytest.raises(ValueError):
        HrgpGetResponse(256, b"").to_bytes()
