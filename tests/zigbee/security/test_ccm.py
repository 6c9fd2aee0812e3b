from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from webapp.zigbee.security import ccm
from webapp.zigbee.security.errors import SecurityError
from webapp.zigbee.types import FrameError

# Zigbee spec (05-3474) annex C.3: the CCM* worked example (M = 8, ENC-MIC-64).
ANNEX_C3_KEY = bytes(range(0xC0, 0xD0))
ANNEX_C3_NONCE = bytes.fromhex("A0A1A2A3A4A5A6A70302010006")
ANNEX_C3_A = bytes(range(0x00, 0x08))
ANNEX_C3_M = bytes(range(0x08, 0x1F))
ANNEX_C3_C = bytes.fromhex("1A55A36ABB6C610D066B3375649CEF10D4664ECAD854A80A895CC1D8FF9469")

# RFC 3610 packet vector #1 (CCM, M = 8, L = 2: a 13-octet nonce as in Zigbee).
RFC3610_NONCE = bytes.fromhex("00000003020100A0A1A2A3A4A5")
RFC3610_C = bytes.fromhex("588C979A61C663D2F066D0C2C0F989806D5F6B61DAC38417E8D12CFDF926E0")

KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
NONCE = bytes(range(13))


def test_annex_c3_example() -> None:
    assert ccm.encrypt(ANNEX_C3_KEY, ANNEX_C3_NONCE, ANNEX_C3_A, ANNEX_C3_M, 8) == ANNEX_C3_C
    assert ccm.decrypt(ANNEX_C3_KEY, ANNEX_C3_NONCE, ANNEX_C3_A, ANNEX_C3_C, 8) == ANNEX_C3_M


def test_rfc3610_packet_vector_1() -> None:
    out = ccm.encrypt(ANNEX_C3_KEY, RFC3610_NONCE, ANNEX_C3_A, bytes(range(0x08, 0x1F)), 8)
    assert out == RFC3610_C


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 80, 100])
def test_round_trip_and_agrees_with_aesccm(length: int) -> None:
    plain = bytes(range(length))
    sealed = ccm.encrypt(KEY, NONCE, b"header", plain)
    assert len(sealed) == length + 4
    assert sealed == AESCCM(KEY, tag_length=4).encrypt(NONCE, plain, b"header")
    assert ccm.decrypt(KEY, NONCE, b"header", sealed) == plain


def test_mic_less_level_is_the_ccm_stream() -> None:
    """ENC (no MIC): CCM*'s counter stream, the same one CCM encrypts with."""
    plain = bytes(range(40))
    stream_only = ccm.encrypt(KEY, NONCE, b"ignored", plain, mic_length=0)
    assert stream_only == ccm.encrypt(KEY, NONCE, b"a", plain)[:-4]
    assert ccm.decrypt(KEY, NONCE, b"other", stream_only, mic_length=0) == plain


@pytest.mark.parametrize("where", ["mic", "ciphertext", "a_data", "nonce", "key"])
def test_any_change_is_refused(where: str) -> None:
    sealed = bytearray(ccm.encrypt(KEY, NONCE, b"header", b"payload"))
    key, nonce, a_data = KEY, NONCE, b"header"
    if where == "mic":
        sealed[-1] ^= 0x01
    elif where == "ciphertext":
        sealed[0] ^= 0x80
    elif where == "a_data":
        a_data = b"Header"
    elif where == "nonce":
        nonce = NONCE[:-1] + b"\x05"
    else:
        key = bytes(16)
    with pytest.raises(SecurityError, match="MIC mismatch"):
        ccm.decrypt(key, nonce, a_data, bytes(sealed))


def test_too_short_for_the_mic() -> None:
    with pytest.raises(SecurityError, match="shorter than its 4-octet MIC") as info:
        ccm.decrypt(KEY, NONCE, b"", b"\x01\x02\x03")
    assert isinstance(info.value, FrameError)


@pytest.mark.parametrize(
    ("key", "nonce", "mic"),
    [(bytes(15), NONCE, 4), (KEY, bytes(12), 4), (KEY, NONCE, 6)],
)
def test_bad_parameters(key: bytes, nonce: bytes, mic: int) -> None:
    with pytest.raises(ValueError):
        ccm.encrypt(key, nonce, b"", b"x", mic)
