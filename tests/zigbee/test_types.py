from __future__ import annotations

import pytest

from webapp.zigbee.types import EUI64, FrameError, Reader, u16, u24, u32


def test_eui64_orders_and_text() -> None:
    e = EUI64.from_hex("00:12:4B:00:01:C0:FF:EE")
    assert str(e) == "00124B0001C0FFEE"
    assert e.be == bytes.fromhex("00124B0001C0FFEE")
    assert e.le == bytes.fromhex("EEFFC001004B1200")
    assert EUI64.from_le(e.le) == EUI64.from_be(e.be) == e
    for bad in ("123", "00124B0001C0FFEEAA"):
        with pytest.raises(ValueError):
            EUI64.from_hex(bad)
    with pytest.raises(ValueError):
        EUI64(1 << 64)
    with pytest.raises(ValueError):
        EUI64.from_le(b"\x00")
    with pytest.raises(ValueError):
        EUI64.from_be(b"\x00")


def test_reader_and_packing() -> None:
    data = b"\x01" + u16(0x0203) + u24(0x040506) + u32(0x0708090A) + b"\x0b" * 8 + b"tail"
    r = Reader(data)
    assert (r.u8(), r.u16(), r.u24(), r.u32()) == (1, 0x0203, 0x040506, 0x0708090A)
    assert r.eui64() == EUI64(0x0B0B0B0B0B0B0B0B)
    assert r.remaining == 4
    with pytest.raises(FrameError):
        r.done()
    assert r.rest() == b"tail"
    r.done()
    with pytest.raises(FrameError):
        r.u8()
