"""Shared Zigbee types: EUI-64 addresses, little-endian packing, a bounds-checked reader."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.gbcs.eui import eui_text


class FrameError(ValueError):
    """Bytes that do not decode as the expected frame."""


@dataclass(frozen=True, order=True)
class EUI64:
    """An IEEE (EUI-64) address.  Printed MSB first; sent over the air LSB first."""

    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value < 1 << 64:
            raise ValueError("EUI-64 out of range")

    @classmethod
    def from_hex(cls, text: str) -> EUI64:
        digits = eui_text(text)
        if digits is None:
            raise ValueError(f"EUI-64 needs 16 hex digits: {text!r}")
        return cls(int(digits, 16))

    @classmethod
    def from_be(cls, data: bytes) -> EUI64:
        if len(data) != 8:
            raise ValueError("EUI-64 needs 8 octets")
        return cls(int.from_bytes(data, "big"))

    @classmethod
    def from_le(cls, data: bytes) -> EUI64:
        if len(data) != 8:
            raise ValueError("EUI-64 needs 8 octets")
        return cls(int.from_bytes(data, "little"))

    @property
    def be(self) -> bytes:
        """MSB first, as in certificates and the CBKE MAC inputs."""
        return self.value.to_bytes(8, "big")

    @property
    def le(self) -> bytes:
        """LSB first, as in MAC/NWK/beacon fields."""
        return self.value.to_bytes(8, "little")

    def __str__(self) -> str:
        return f"{self.value:016X}"


def u8(value: int) -> bytes:
    return value.to_bytes(1, "little")


def u16(value: int) -> bytes:
    return value.to_bytes(2, "little")


def u24(value: int) -> bytes:
    return value.to_bytes(3, "little")


def u32(value: int) -> bytes:
    return value.to_bytes(4, "little")


class Reader:
    """Consumes a byte string left to right; raises FrameError on truncation."""

    def __init__(self, data: bytes, what: str = "frame") -> None:
        self.data = bytes(data)
        self.pos = 0
        self.what = what

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise FrameError(f"{self.what} truncated at octet {self.pos} (needs {n} more)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "little")

    def u24(self) -> int:
        return int.from_bytes(self.take(3), "little")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def eui64(self) -> EUI64:
        return EUI64.from_le(self.take(8))

    def rest(self) -> bytes:
        out = self.data[self.pos :]
        self.pos = len(self.data)
        return out

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def done(self) -> None:
        if self.remaining:
            raise FrameError(f"{self.what} has {self.remaining} unexpected trailing octets")
