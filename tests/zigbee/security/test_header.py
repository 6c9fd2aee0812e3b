from __future__ import annotations

import pytest

from webapp.zigbee.security.header import KeyId, SecurityHeader
from webapp.zigbee.types import EUI64, FrameError, Reader

SOURCE = EUI64.from_hex("00124B0001C0FFEE")


def test_network_header_layout_on_air_and_for_the_mic() -> None:
    aux = SecurityHeader(KeyId.NETWORK, 0x01020304, SOURCE, key_seq=7)
    on_air = aux.to_bytes()
    # level 0 over the air; key id 1 (bits 3-4); extended nonce (bit 5)
    assert on_air == bytes.fromhex("2804030201EEFFC001004B120007")
    assert aux.to_bytes(over_the_air=False) == bytes.fromhex("2D") + on_air[1:]
    assert aux.length == len(on_air) == 14


def test_link_key_header_without_extended_nonce() -> None:
    aux = SecurityHeader(KeyId.DATA, 9)
    assert aux.to_bytes() == bytes.fromhex("0009000000")
    assert aux.to_bytes(over_the_air=False) == bytes.fromhex("0509000000")


def test_nonce_uses_the_real_level() -> None:
    aux = SecurityHeader(KeyId.KEY_TRANSPORT, 0xAABBCCDD, SOURCE)
    nonce = aux.nonce(SOURCE)
    assert nonce == SOURCE.le + bytes.fromhex("DDCCBBAA") + bytes([0x20 | 0x10 | 0x05])
    assert len(nonce) == 13


@pytest.mark.parametrize(
    "aux",
    [
        SecurityHeader(KeyId.NETWORK, 0, SOURCE, 0),
        SecurityHeader(KeyId.NETWORK, 0xFFFFFFFF, None, 255),
        SecurityHeader(KeyId.DATA, 5),
        SecurityHeader(KeyId.KEY_TRANSPORT, 1, SOURCE),
        SecurityHeader(KeyId.KEY_LOAD, 2, SOURCE),
    ],
)
def test_read_round_trip(aux: SecurityHeader) -> None:
    r = Reader(aux.to_bytes() + b"rest")
    assert SecurityHeader.read(r) == aux
    assert r.rest() == b"rest"


def test_read_ignores_the_level_sent() -> None:
    """Receivers substitute the network's level whatever the frame says."""
    sent_with_level = bytes.fromhex("0509000000")  # level 5 on air, link key
    assert SecurityHeader.read(Reader(sent_with_level)).level == 5
    assert SecurityHeader.read(Reader(bytes.fromhex("0009000000"))).level == 5


def test_read_refuses_reserved_bits_and_truncation() -> None:
    with pytest.raises(FrameError, match="reserved bits set in security control 0x48"):
        SecurityHeader.read(Reader(bytes.fromhex("4809000000")))
    with pytest.raises(FrameError, match="truncated"):
        SecurityHeader.read(Reader(bytes.fromhex("28090000")))
    with pytest.raises(FrameError, match="truncated"):
        SecurityHeader.read(Reader(bytes.fromhex("2809000000EEFFC001004B1200")))  # no key seq


def test_key_seq_goes_with_the_network_key_only() -> None:
    with pytest.raises(ValueError):
        SecurityHeader(KeyId.NETWORK, 1, SOURCE)
    with pytest.raises(ValueError):
        SecurityHeader(KeyId.DATA, 1, key_seq=0)
    with pytest.raises(ValueError):
        SecurityHeader(KeyId.DATA, 1 << 32)
