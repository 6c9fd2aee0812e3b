"""Bounds-checked cursor over bytes; every failure is a GbcsError at an absolute offset."""

from __future__ import annotations

from .errors import GbcsError

MAX_LENGTH_OCTETS = 4


class Reader:
    """A cursor over ``data[pos:end]``. Offsets it reports are absolute into ``data``."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, offset: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = offset
        self.end = len(data) if end is None else end
        if not 0 <= self.pos <= self.end <= len(data):
            raise GbcsError(offset, "a range inside the input")

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    @property
    def at_end(self) -> bool:
        return self.pos >= self.end

    def fail(self, expected: str, found: str | None = None, offset: int | None = None) -> GbcsError:
        return GbcsError(self.pos if offset is None else offset, expected, found)

    def need(self, count: int, what: str) -> None:
        if count < 0 or self.end - self.pos < count:
            raise self.fail(
                f"{count} byte(s) of {what}", f"{max(self.remaining, 0)} left before the end"
            )

    def peek(self, what: str = "a byte") -> int:
        if self.pos >= self.end:
            self.need(1, what)
        return self.data[self.pos]

    def u8(self, what: str) -> int:
        pos = self.pos
        if pos >= self.end:
            self.need(1, what)
        self.pos = pos + 1
        return self.data[pos]

    def uint(self, size: int, what: str, *, little: bool = False) -> int:
        return int.from_bytes(self.take(size, what), "little" if little else "big")

    def sint(self, size: int, what: str, *, little: bool = False) -> int:
        raw = self.take(size, what)
        return int.from_bytes(raw, "little" if little else "big", signed=True)

    def take(self, size: int, what: str) -> bytes:
        pos = self.pos
        if size < 0 or self.end - pos < size:
            self.need(size, what)
        self.pos = pos + size
        return bytes(self.data[pos : pos + size])

    def rest(self) -> bytes:
        chunk = self.data[self.pos : self.end]
        self.pos = self.end
        return bytes(chunk)

    def expect(self, value: int, what: str) -> None:
        start = self.pos
        found = self.u8(what)
        if found != value:
            raise self.fail(f"{what} (0x{value:02X})", f"0x{found:02X}", offset=start)

    def ber_length(self, what: str) -> int:
        """A BER/DER definite length: short form, or 0x81..0x84 followed by that many octets."""
        start = self.pos
        first = self.u8(f"{what} length")
        if first < 0x80:
            return first
        count = first & 0x7F
        if count == 0 or count > MAX_LENGTH_OCTETS:
            raise self.fail(f"a definite length for {what}", f"0x{first:02X}", offset=start)
        return self.uint(count, f"{what} length")

    def sub(self, size: int, what: str) -> Reader:
        """A reader over the next ``size`` bytes; this reader moves past them."""
        self.need(size, what)
        child = Reader(self.data, self.pos, self.pos + size)
        self.pos += size
        return child


def encode_ber_length(length: int) -> bytes:
    if length < 0:
        raise ValueError("length must not be negative")
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > MAX_LENGTH_OCTETS:
        raise ValueError("length too large")
    return bytes([0x80 | len(body)]) + body
