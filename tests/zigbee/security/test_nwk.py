from __future__ import annotations

import pytest

from webapp.zigbee.frames.mac import MacFrame
from webapp.zigbee.frames.nwk import NwkFrameType, NwkHeader
from webapp.zigbee.security import ccm
from webapp.zigbee.security.errors import SecurityError
from webapp.zigbee.security.header import KeyId, SecurityHeader
from webapp.zigbee.security.nwk import open_nwk, read_nwk, secure_nwk
from webapp.zigbee.types import EUI64, FrameError

NWK_KEY = bytes.fromhex("01030507090B0D0F00020406080A0C0D")
OTHER_KEY = bytes(16)
SOURCE = EUI64.from_hex("00124B0001C0FFEE")
HEADER = NwkHeader(dst=0x0000, src=0x4F21, radius=30, seq=0x41, discover_route=1)
PAYLOAD = bytes(range(80))
AUX_OFFSET = 8  # the plain NWK header above is 8 octets

# A frame captured on a Xiaomi network and its network key, published with its
# decryption at https://lucidar.me/en/zigbee/autopsy-of-a-zigbee-frame/ (MAC frame with
# FCS; the NWK frame runs from octet 9 to the FCS).
CAPTURED = bytes.fromhex(
    "6188644724 00008A5C 4802 0000 8A5C 1E5D 28E1000000013CE801008D150001"
    "EA59DE1F960EEA8AEE185A11893096414E05A2438AFB".replace(" ", "")
)
CAPTURED_KEY = bytes.fromhex("AD8EBBC4F96AE7000506D3FCD1627FB8")
CAPTURED_PLAIN = bytes.fromhex("000112000401016218C30A5500210100")


def _keys(seq: int) -> bytes | None:
    return NWK_KEY if seq == 3 else None


def _secure(counter: int = 77) -> bytes:
    return secure_nwk(HEADER, PAYLOAD, key=NWK_KEY, key_seq=3, frame_counter=counter, source=SOURCE)


def test_round_trip() -> None:
    raw = _secure()
    header, aux, plain = open_nwk(raw, _keys)
    assert plain == PAYLOAD
    assert header == NwkHeader(
        dst=0x0000, src=0x4F21, radius=30, seq=0x41, discover_route=1, security=True
    )
    assert aux == SecurityHeader(KeyId.NETWORK, 77, SOURCE, 3)
    assert len(raw) == 8 + 14 + 80 + 4


def test_layout_and_the_over_the_air_level_rule() -> None:
    raw = _secure()
    assert raw[:AUX_OFFSET] == bytes.fromhex("4802000021 4F1E41".replace(" ", ""))
    assert raw[AUX_OFFSET] == 0x28  # network key, extended nonce, level 0 on air
    aux = SecurityHeader(KeyId.NETWORK, 77, SOURCE, 3)
    # The MIC covers the header with the real level 5, not the level 0 sent:
    a_data = raw[:AUX_OFFSET] + aux.to_bytes(over_the_air=False)
    body = raw[AUX_OFFSET + 14 :]
    assert ccm.decrypt(NWK_KEY, aux.nonce(SOURCE), a_data, body) == PAYLOAD
    with pytest.raises(SecurityError):
        ccm.decrypt(NWK_KEY, aux.nonce(SOURCE), raw[: AUX_OFFSET + 14], body)
    level0 = SecurityHeader(KeyId.NETWORK, 77, SOURCE, 3, level=0)
    with pytest.raises(SecurityError):  # nor is the nonce built with level 0
        ccm.decrypt(NWK_KEY, level0.nonce(SOURCE), a_data, body)


def test_sending_the_real_level_still_opens() -> None:
    """Receivers ignore the level sent (Zigbee PRO: it is patched before the check)."""
    raw = bytearray(_secure())
    raw[AUX_OFFSET] |= 0x05
    assert open_nwk(bytes(raw), _keys)[2] == PAYLOAD


def test_captured_frame_opens() -> None:
    mac = MacFrame.from_bytes(CAPTURED, fcs=True)
    header, aux, plain = open_nwk(mac.payload, lambda seq: CAPTURED_KEY)
    assert plain == CAPTURED_PLAIN
    assert (header.src, header.dst, header.seq) == (0x5C8A, 0x0000, 0x5D)
    assert aux == SecurityHeader(KeyId.NETWORK, 225, EUI64.from_hex("00158D0001E83C01"), key_seq=1)


def test_read_without_decrypting() -> None:
    raw = _secure()
    header, aux, body = read_nwk(raw)
    assert header.security and aux is not None and aux.frame_counter == 77
    assert body == raw[AUX_OFFSET + 14 :]
    plain_header = NwkHeader(dst=1, src=2, radius=3, seq=4, frame_type=NwkFrameType.COMMAND)
    assert read_nwk(plain_header.to_bytes() + b"cmd") == (plain_header, None, b"cmd")


def test_tampered_mic_bit() -> None:
    raw = bytearray(_secure())
    raw[-1] ^= 0x10
    with pytest.raises(SecurityError, match="MIC mismatch"):
        open_nwk(bytes(raw), _keys)


@pytest.mark.parametrize("octet", [o for o in range(AUX_OFFSET + 14) if o != AUX_OFFSET])
def test_every_header_octet_is_covered(octet: int) -> None:
    """The a-data: any change to the NWK header or the auxiliary header (but its level
    bits, ignored on receipt) breaks the MIC."""
    raw = bytearray(_secure())
    raw[octet] ^= 0x40
    with pytest.raises(SecurityError, match="MIC mismatch"):
        open_nwk(bytes(raw), lambda seq: NWK_KEY)


def test_wrong_key() -> None:
    with pytest.raises(SecurityError, match="MIC mismatch"):
        open_nwk(_secure(), lambda seq: OTHER_KEY)


def test_wrong_counter() -> None:
    raw = bytearray(_secure(counter=77))
    raw[AUX_OFFSET + 1] = 78  # the frame counter's low octet
    with pytest.raises(SecurityError, match="MIC mismatch"):
        open_nwk(bytes(raw), _keys)


def test_wrong_source_in_the_nonce() -> None:
    raw = bytearray(_secure())
    raw[AUX_OFFSET + 5] ^= 0x01  # the extended source's low octet
    with pytest.raises(SecurityError, match="MIC mismatch"):
        open_nwk(bytes(raw), _keys)


def test_no_such_key() -> None:
    with pytest.raises(SecurityError, match="no network key with sequence number 3"):
        open_nwk(_secure(), lambda seq: None)


def test_unsecured_frame_is_refused_by_open() -> None:
    with pytest.raises(SecurityError, match="not secured"):
        open_nwk(HEADER.to_bytes() + PAYLOAD, _keys)


@pytest.mark.parametrize("cut", [1, 7, 8, 12, 21, 22, 25])
def test_truncated(cut: int) -> None:
    raw = _secure()[:cut]
    with pytest.raises(SecurityError, match="truncated"):
        open_nwk(raw, _keys)
    with pytest.raises(FrameError, match="truncated"):
        read_nwk(raw)


def test_other_key_ids_are_refused() -> None:
    aux = SecurityHeader(KeyId.DATA, 1, SOURCE)
    nwk = bytearray(HEADER.to_bytes())
    nwk[1] |= 0x02
    with pytest.raises(SecurityError, match="DATA key, not NETWORK"):
        open_nwk(bytes(nwk) + aux.to_bytes() + bytes(8), _keys)


def test_source_from_the_nwk_header_when_no_extended_nonce() -> None:
    header = NwkHeader(dst=0, src=0x4F21, radius=1, seq=1, security=True, src_ieee=SOURCE)
    aux = SecurityHeader(KeyId.NETWORK, 5, None, 3)
    a_data = header.to_bytes() + aux.to_bytes(over_the_air=False)
    sealed = ccm.encrypt(NWK_KEY, aux.nonce(SOURCE), a_data, b"hello")
    raw = header.to_bytes() + aux.to_bytes() + sealed
    assert open_nwk(raw, _keys)[2] == b"hello"
    bare = NwkHeader(dst=0, src=0x4F21, radius=1, seq=1, security=True)
    with pytest.raises(SecurityError, match="no extended source"):
        open_nwk(bare.to_bytes() + aux.to_bytes() + sealed, _keys)
