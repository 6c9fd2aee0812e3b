"""Arithmetic in GF(2^m) with elements held as Python ints (bit i = coefficient of x^i).

Multiplication is a 4-bit comb over the bytes of one operand; squaring spreads bits
with two byte-translation tables; reduction folds the high part back with the sparse
reduction polynomial (a trinomial or pentanomial), so every operation stays in C loops
as far as possible.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def _spread_table(nibble_of: int) -> bytes:
    """Byte -> the 4 bits of one nibble spread to the even bit positions of a byte."""
    out = bytearray(256)
    for value in range(256):
        nib = (value >> 4) if nibble_of else (value & 15)
        spread = 0
        for k in range(4):
            spread |= ((nib >> k) & 1) << (2 * k)
        out[value] = spread
    return bytes(out)


_SPREAD_HI = _spread_table(1)
_SPREAD_LO = _spread_table(0)


@dataclass(frozen=True)
class BinaryField:
    """GF(2^m) defined by x^m + sum(x^k for k in terms) (terms include 0)."""

    m: int
    terms: tuple[int, ...]
    nbytes: int = field(init=False)
    mask: int = field(init=False)
    modulus: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nbytes", (self.m + 7) // 8)
        object.__setattr__(self, "mask", (1 << self.m) - 1)
        poly = 1 << self.m
        for t in self.terms:
            poly |= 1 << t
        object.__setattr__(self, "modulus", poly)

    # -- reduction -------------------------------------------------------
    def reduce(self, r: int) -> int:
        m, mask, terms = self.m, self.mask, self.terms
        while r >> m:
            hi = r >> m
            r &= mask
            for t in terms:
                r ^= hi << t
        return r

    # -- arithmetic ------------------------------------------------------
    def mul(self, a: int, b: int) -> int:
        """Product a*b mod f."""
        b2 = b << 1
        b4 = b << 2
        b8 = b << 3
        lo = [0, b, b2, b2 ^ b, b4, b4 ^ b, b4 ^ b2, b4 ^ b2 ^ b]
        lo += [x ^ b8 for x in lo]
        hi = [x << 4 for x in lo]
        r = 0
        for byte in a.to_bytes(self.nbytes, "big"):
            r = (r << 8) ^ hi[byte >> 4] ^ lo[byte & 15]
        return self.reduce(r)

    def sqr(self, a: int) -> int:
        """a^2 mod f (bit spreading, then reduction)."""
        raw = a.to_bytes(self.nbytes, "big")
        out = bytearray(2 * self.nbytes)
        out[0::2] = raw.translate(_SPREAD_HI)
        out[1::2] = raw.translate(_SPREAD_LO)
        return self.reduce(int.from_bytes(out, "big"))

    def inv(self, a: int) -> int:
        """Multiplicative inverse by the binary polynomial extended Euclid algorithm."""
        if a == 0:
            raise ZeroDivisionError("inverse of 0 in GF(2^m)")
        u, v = a, self.modulus
        g1, g2 = 1, 0
        while u != 1:
            j = u.bit_length() - v.bit_length()
            if j < 0:
                u, v = v, u
                g1, g2 = g2, g1
                j = -j
            u ^= v << j
            g1 ^= g2 << j
        return self.reduce(g1)

    def div(self, a: int, b: int) -> int:
        return self.mul(a, self.inv(b))

    def trace(self, a: int) -> int:
        """Absolute trace Tr(a) in {0, 1}."""
        t = a
        s = a
        for _ in range(self.m - 1):
            s = self.sqr(s)
            t ^= s
        return t & 1

    def half_trace(self, a: int) -> int:
        """H(a) = sum a^(2^(2i)), i = 0..(m-1)/2: a root z of z^2 + z = a when Tr(a) = 0 (m odd)."""
        h = a
        s = a
        for _ in range((self.m - 1) // 2):
            s = self.sqr(self.sqr(s))
            h ^= s
        return h

    def to_bytes(self, a: int) -> bytes:
        return a.to_bytes(self.nbytes, "big")

    def from_bytes(self, data: bytes) -> int:
        value = int.from_bytes(data, "big")
        if value >> self.m:
            raise ValueError("field element out of range")
        return value


SECT283_FIELD = BinaryField(283, (12, 7, 5, 0))
SECT163_FIELD = BinaryField(163, (7, 6, 3, 0))
