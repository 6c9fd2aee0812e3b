from __future__ import annotations

import pytest

from webapp.zigbee.cbke.aesmmo import hmac_aes_mmo
from webapp.zigbee.frames.aps import ApsFrameType, ApsHeader, DeliveryMode, Fragmentation
from webapp.zigbee.frames.aps_commands import TransportNetworkKey, command_header
from webapp.zigbee.security import ccm
from webapp.zigbee.security.aps import aps_key, open_aps, read_aps, secure_aps
from webapp.zigbee.security.errors import SecurityError
from webapp.zigbee.security.header import KeyId, SecurityHeader
from webapp.zigbee.security.keys import key_load_key, key_transport_key
from webapp.zigbee.types import EUI64, FrameError

LINK_KEY = b"ZigBeeAlliance09"
TC = EUI64.from_hex("00124B00AABBCCDD")
DEVICE = EUI64.from_hex("00124B0001C0FFEE")
NWK_KEY = bytes.fromhex("01030507090B0D0F00020406080A0C0D")
DATA_HEADER = ApsHeader(
    ApsFrameType.DATA, 0x21, dst_endpoint=1, cluster_id=0x0702, profile_id=0x0109, src_endpoint=1
)
ZCL = bytes.fromhex("000500 00000100".replace(" ", ""))


def test_hashed_keys_are_hmac_aes_mmo_over_one_octet() -> None:
    assert key_transport_key(LINK_KEY) == hmac_aes_mmo(LINK_KEY, b"\x00")
    assert key_load_key(LINK_KEY) == hmac_aes_mmo(LINK_KEY, b"\x02")
    assert len({key_transport_key(LINK_KEY), key_load_key(LINK_KEY), LINK_KEY}) == 3
    with pytest.raises(ValueError):
        key_transport_key(bytes(15))


def test_aps_key_by_key_id() -> None:
    assert aps_key(LINK_KEY, KeyId.DATA) == LINK_KEY
    assert aps_key(LINK_KEY, KeyId.KEY_TRANSPORT) == key_transport_key(LINK_KEY)
    assert aps_key(LINK_KEY, KeyId.KEY_LOAD) == key_load_key(LINK_KEY)
    with pytest.raises(ValueError):
        aps_key(LINK_KEY, KeyId.NETWORK)


@pytest.mark.parametrize("key_id", [KeyId.DATA, KeyId.KEY_TRANSPORT, KeyId.KEY_LOAD])
@pytest.mark.parametrize("extended_nonce", [False, True])
def test_round_trip(key_id: KeyId, extended_nonce: bool) -> None:
    raw = secure_aps(
        DATA_HEADER,
        ZCL,
        key=LINK_KEY,
        key_id=key_id,
        frame_counter=7,
        source=DEVICE,
        extended_nonce=extended_nonce,
    )
    header, aux, plain = open_aps(raw, key=LINK_KEY, source=DEVICE)
    assert plain == ZCL
    assert header == ApsHeader(
        ApsFrameType.DATA,
        0x21,
        dst_endpoint=1,
        cluster_id=0x0702,
        profile_id=0x0109,
        src_endpoint=1,
        security=True,
    )
    assert aux == SecurityHeader(key_id, 7, DEVICE if extended_nonce else None)


def test_layout_and_the_hashed_key_is_the_one_used() -> None:
    tk = TransportNetworkKey(NWK_KEY, 0, DEVICE, TC).to_bytes()
    raw = secure_aps(
        command_header(1),
        tk,
        key=LINK_KEY,
        key_id=KeyId.KEY_TRANSPORT,
        frame_counter=0,
        source=TC,
        extended_nonce=True,
    )
    assert raw[:2] == bytes.fromhex("2101")  # command frame, security; APS counter 1
    assert raw[2:15] == bytes.fromhex("3000000000") + TC.le  # level 0 on air
    aux = SecurityHeader(KeyId.KEY_TRANSPORT, 0, TC)
    a_data = raw[:2] + aux.to_bytes(over_the_air=False)
    plain = ccm.decrypt(key_transport_key(LINK_KEY), aux.nonce(TC), a_data, raw[15:])
    assert plain == tk


def test_source_is_needed_without_extended_nonce() -> None:
    raw = secure_aps(
        DATA_HEADER,
        ZCL,
        key=LINK_KEY,
        key_id=KeyId.DATA,
        frame_counter=7,
        source=DEVICE,
        extended_nonce=False,
    )
    with pytest.raises(SecurityError, match="MIC mismatch"):
        open_aps(raw, key=LINK_KEY, source=TC)


def test_extended_nonce_overrides_the_source_given() -> None:
    raw = secure_aps(
        DATA_HEADER,
        ZCL,
        key=LINK_KEY,
        key_id=KeyId.DATA,
        frame_counter=7,
        source=DEVICE,
        extended_nonce=True,
    )
    assert open_aps(raw, key=LINK_KEY, source=TC)[2] == ZCL


def _data_frame(counter: int = 7) -> bytes:
    return secure_aps(
        DATA_HEADER,
        ZCL,
        key=LINK_KEY,
        key_id=KeyId.DATA,
        frame_counter=counter,
        source=DEVICE,
        extended_nonce=False,
    )


def test_tampered_mic_wrong_key_wrong_counter() -> None:
    raw = _data_frame()
    tampered = raw[:-1] + bytes([raw[-1] ^ 0x01])
    with pytest.raises(SecurityError, match="MIC mismatch"):
        open_aps(tampered, key=LINK_KEY, source=DEVICE)
    with pytest.raises(SecurityError, match="MIC mismatch"):
        open_aps(raw, key=bytes(16), source=DEVICE)
    counter_at = 8 + 1  # APS data header (8 octets), then the security control
    recounted = raw[:counter_at] + b"\x08" + raw[counter_at + 1 :]
    with pytest.raises(SecurityError, match="MIC mismatch"):
        open_aps(recounted, key=LINK_KEY, source=DEVICE)


def test_header_octets_are_covered() -> None:
    raw = bytearray(_data_frame())
    raw[1] ^= 0x01  # destination endpoint
    with pytest.raises(SecurityError, match="MIC mismatch"):
        open_aps(bytes(raw), key=LINK_KEY, source=DEVICE)


def test_fragmented_and_ack_headers_are_secured_too() -> None:
    first = ApsHeader(
        ApsFrameType.DATA,
        9,
        dst_endpoint=1,
        cluster_id=0x0702,
        profile_id=0x0109,
        src_endpoint=1,
        fragmentation=Fragmentation.FIRST,
        block_number=3,
    )
    ack = ApsHeader(ApsFrameType.ACK, 9, ack_format=True, delivery_mode=DeliveryMode.UNICAST)
    for header in (first, ack):
        raw = secure_aps(
            header,
            b"block",
            key=LINK_KEY,
            key_id=KeyId.DATA,
            frame_counter=1,
            source=DEVICE,
            extended_nonce=True,
        )
        opened, _, plain = open_aps(raw, key=LINK_KEY, source=DEVICE)
        assert plain == b"block" and opened.security
        assert opened.fragmentation == header.fragmentation


def test_read_without_decrypting() -> None:
    raw = _data_frame()
    header, aux, body = read_aps(raw)
    assert header.security and aux == SecurityHeader(KeyId.DATA, 7)
    assert len(body) == len(ZCL) + 4
    assert read_aps(DATA_HEADER.to_bytes() + ZCL) == (DATA_HEADER, None, ZCL)


def test_unsecured_truncated_and_network_key_frames_are_refused() -> None:
    with pytest.raises(SecurityError, match="not secured"):
        open_aps(DATA_HEADER.to_bytes() + ZCL, key=LINK_KEY, source=DEVICE)
    raw = _data_frame()
    for cut in (0, 3, 8, 12, 13, 14 + 2):
        with pytest.raises(SecurityError, match="truncated"):
            open_aps(raw[:cut], key=LINK_KEY, source=DEVICE)
        with pytest.raises(FrameError, match="truncated"):
            read_aps(raw[:cut])
    nwk_keyed = bytes.fromhex("21012801000000") + DEVICE.le + b"\x00" + bytes(8)
    with pytest.raises(SecurityError, match="network key"):
        open_aps(nwk_keyed, key=LINK_KEY, source=DEVICE)


def test_network_key_id_is_not_an_aps_key() -> None:
    with pytest.raises(ValueError):
        secure_aps(
            DATA_HEADER,
            ZCL,
            key=LINK_KEY,
            key_id=KeyId.NETWORK,
            frame_counter=1,
            source=DEVICE,
            extended_nonce=True,
        )
