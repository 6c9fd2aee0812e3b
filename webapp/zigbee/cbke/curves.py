"""Koblitz curves y^2 + xy = x^3 + a*x^2 + 1 over GF(2^m): sect283k1 and sect163k1.

Affine points are ``(x, y)`` tuples of field ints, the point at infinity is ``None``.
Scalar multiplication runs in Lopez-Dahab projective coordinates (x = X/Z, y = Y/Z^2)
with width-w NAF recoding and mixed additions against an affine table of odd multiples,
so only a handful of field inversions are spent per multiplication.  ``mul2`` computes
k1*P1 + k2*P2 in one interleaved pass (Shamir's trick), which ECQV and ECMQV both use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from webapp.zigbee.cbke.gf2m import SECT163_FIELD, SECT283_FIELD, BinaryField
from webapp.zigbee.cbke.tau import TauRing, TnafParams

Point = tuple[int, int] | None
_LD = tuple[int, int, int] | None


class PointError(ValueError):
    """A point encoding that does not decode to a point of the curve."""


def wnaf(k: int, w: int) -> list[int]:
    """Width-w non-adjacent form of k >= 0, least significant digit first."""
    digits: list[int] = []
    full = 1 << w
    half = 1 << (w - 1)
    while k:
        if k & 1:
            d = k & (full - 1)
            if d >= half:
                d -= full
            k -= d
        else:
            d = 0
        digits.append(d)
        k >>= 1
    return digits


@dataclass(frozen=True)
class KoblitzCurve:
    name: str
    field: BinaryField
    a: int
    n: int
    h: int
    gx: int
    gy: int
    _tables: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def g(self) -> tuple[int, int]:
        return (self.gx, self.gy)

    @property
    def point_bytes(self) -> int:
        return 1 + self.field.nbytes

    @property
    def scalar_bytes(self) -> int:
        return (self.n.bit_length() + 7) // 8

    # -- affine group law (used for tables and as a reference) ------------
    def is_on_curve(self, p: Point) -> bool:
        if p is None:
            return True
        f = self.field
        x, y = p
        if x >> f.m or y >> f.m:
            return False
        x2 = f.sqr(x)
        lhs = f.sqr(y) ^ f.mul(x, y)
        rhs = f.mul(x2, x) ^ (x2 if self.a else 0) ^ 1
        return lhs == rhs

    def neg(self, p: Point) -> Point:
        if p is None:
            return None
        return (p[0], p[0] ^ p[1])

    def add(self, p: Point, q: Point) -> Point:
        if p is None:
            return q
        if q is None:
            return p
        f = self.field
        x1, y1 = p
        x2, y2 = q
        if x1 == x2:
            if y1 == y2:
                return self.double(p)
            return None
        lam = f.div(y1 ^ y2, x1 ^ x2)
        x3 = f.sqr(lam) ^ lam ^ x1 ^ x2 ^ self.a
        y3 = f.mul(lam, x1 ^ x3) ^ x3 ^ y1
        return (x3, y3)

    def double(self, p: Point) -> Point:
        if p is None or p[0] == 0:
            return None
        f = self.field
        x1, y1 = p
        lam = x1 ^ f.div(y1, x1)
        x3 = f.sqr(lam) ^ lam ^ self.a
        y3 = f.sqr(x1) ^ f.mul(lam ^ 1, x3)
        return (x3, y3)

    # -- Lopez-Dahab projective arithmetic ---------------------------------
    def _ld_double(self, p: _LD) -> _LD:
        if p is None:
            return None
        X1, Y1, Z1 = p
        if X1 == 0:
            return None
        f = self.field
        sqr, mul = f.sqr, f.mul
        x1s = sqr(X1)
        z1s = sqr(Z1)
        z1q = sqr(z1s)  # b * Z1^4 with b = 1
        Z3 = mul(x1s, z1s)
        X3 = sqr(x1s) ^ z1q
        t = sqr(Y1) ^ z1q
        if self.a:
            t ^= Z3
        Y3 = mul(z1q, Z3) ^ mul(X3, t)
        return (X3, Y3, Z3)

    def _ld_add_affine(self, p: _LD, q: tuple[int, int]) -> _LD:
        """p (Lopez-Dahab) + q (affine, not infinity)."""
        x2, y2 = q
        if p is None:
            return (x2, y2, 1)
        f = self.field
        sqr, mul = f.sqr, f.mul
        X1, Y1, Z1 = p
        z1s = sqr(Z1)
        A = mul(y2, z1s) ^ Y1
        B = mul(x2, Z1) ^ X1
        if B == 0:
            if A == 0:
                return self._ld_double((x2, y2, 1))
            return None
        C = mul(Z1, B)
        D = C ^ z1s if self.a else C
        D = mul(sqr(B), D)
        Z3 = sqr(C)
        E = mul(A, C)
        X3 = sqr(A) ^ D ^ E
        F = X3 ^ mul(x2, Z3)
        G = mul(x2 ^ y2, sqr(Z3))
        Y3 = mul(E ^ Z3, F) ^ G
        return (X3, Y3, Z3)

    def _to_affine(self, p: _LD) -> Point:
        if p is None:
            return None
        f = self.field
        X, Y, Z = p
        if Z == 0:
            return None
        zi = f.inv(Z)
        return (f.mul(X, zi), f.mul(Y, f.sqr(zi)))

    # -- scalar multiplication ---------------------------------------------
    def _odd_multiples(self, p: tuple[int, int], w: int) -> list[tuple[int, int]]:
        """[P, 3P, 5P, ..., (2^(w-1)-1)P] in affine coordinates."""
        key = (p, w)
        cached = self._tables.get(key)
        if cached is not None:
            return cached
        table = [p]
        p2 = self.double(p)
        for _ in range((1 << (w - 2)) - 1):
            nxt = self.add(table[-1], p2)
            if nxt is None:  # only for points of tiny order; never for valid keys
                break
            table.append(nxt)
        if p == self.g:
            self._tables[key] = table
        return table

    def mul(self, k: int, p: Point) -> Point:
        """k*P for k >= 0."""
        return self.mul2(k, p, 0, None)

    def mul2(self, k1: int, p1: Point, k2: int, p2: Point) -> Point:
        """k1*P1 + k2*P2: large scalars in one tau-adic pass, small ones by wNAF."""
        big = []
        small = []
        extra: list[tuple[int, int]] = []
        for k, p in ((k1, p1), (k2, p2)):
            if k < 0:
                raise ValueError("negative scalar")
            if k == 0 or p is None:
                continue
            if k == 1:
                extra.append(p)
            elif k.bit_length() > self.field.m // 2 + 24:
                big.append((k, p))
            else:
                small.append((k, p))
        if big:
            q = self._tau_mul(big)
            if q is not None:
                extra.append(q)
        return self._wnaf_mul(small, extra)

    def mul_binary(self, k: int, p: Point) -> Point:
        """k*P by the plain double-and-add wNAF path (a reference for the tau-adic one)."""
        if k < 0:
            raise ValueError("negative scalar")
        return self._wnaf_mul([(k, p)] if k and p is not None else [], [])

    def _wnaf_mul(self, pairs: list[tuple[int, Point]], extra: list[tuple[int, int]]) -> Point:
        terms = []
        for k, p in pairs:
            w = 6 if p == self.g else 5 if k.bit_length() > 200 else 4
            table = self._odd_multiples(p, w)
            negs = [self.neg(t) for t in table]
            terms.append((wnaf(k, w), table, negs))
        acc: _LD = None
        double, add = self._ld_double, self._ld_add_affine
        length = max((len(t[0]) for t in terms), default=0)
        for i in range(length - 1, -1, -1):
            acc = double(acc)
            for digits, table, negs in terms:
                if i < len(digits):
                    d = digits[i]
                    if d > 0:
                        acc = add(acc, table[d >> 1])
                    elif d < 0:
                        acc = add(acc, negs[(-d) >> 1])
        for p in extra:
            acc = add(acc, p)
        return self._to_affine(acc)

    # -- tau-adic (Frobenius) scalar multiplication ----------------------------
    def _tau_setup(self, w: int) -> tuple[TnafParams, tuple[int, int]]:
        key = ("tau", w)
        cached = self._tables.get(key)
        if cached is None:
            ring = TauRing(1 if self.a else -1)
            t0, t1 = ring.tau_power(self.field.m)
            cached = self._tables[key] = (TnafParams(ring, w), (t0 - 1, t1))
        return cached

    def frobenius(self, p: Point) -> Point:
        if p is None:
            return None
        return (self.field.sqr(p[0]), self.field.sqr(p[1]))

    def _alpha_multiples(self, p: tuple[int, int], params: TnafParams) -> list[tuple[int, int]]:
        """alpha_u * P for u = 1, 3, 5, ... in affine coordinates (cached for G)."""
        key = ("alpha", p, params.w)
        cached = self._tables.get(key)
        if cached is not None:
            return cached
        plain, _ = self._tau_setup(2)
        neg = self.neg(p)
        table = []
        for u in range(1, 1 << (params.w - 1), 2):
            acc: Point = None
            for d in reversed(plain.digits(params.alphas[u])):
                acc = self.frobenius(acc)
                if d:
                    acc = self.add(acc, p if d > 0 else neg)
            if acc is None:
                raise PointError("point of small order")
            table.append(acc)
        if p == self.g:
            self._tables[key] = table
        return table

    def _tau_mul(self, pairs: list[tuple[int, tuple[int, int]]]) -> Point:
        """sum k*P over pairs, sharing one Frobenius chain; exact for every curve point."""
        terms = []
        for k, p in pairs:
            w = 7 if p == self.g else 4
            params, modulus = self._tau_setup(w)
            digits = params.digits(params.ring.mod((k, 0), modulus))
            table = self._alpha_multiples(p, params)
            terms.append((digits, table, [self.neg(t) for t in table]))
        length = max(len(t[0]) for t in terms)
        sqr, add = self.field.sqr, self._ld_add_affine
        acc: _LD = None
        for i in range(length - 1, -1, -1):
            if acc is not None:
                acc = (sqr(acc[0]), sqr(acc[1]), sqr(acc[2]))
            for digits, table, negs in terms:
                if i < len(digits):
                    d = digits[i]
                    if d > 0:
                        acc = add(acc, table[d >> 1])
                    elif d < 0:
                        acc = add(acc, negs[(-d) >> 1])
        return self._to_affine(acc)

    # -- encodings --------------------------------------------------------------
    def encode_point(self, p: Point, compressed: bool = True) -> bytes:
        """SEC 1 encoding: 02/03 || x (compressed) or 04 || x || y."""
        if p is None:
            raise PointError("cannot encode the point at infinity")
        f = self.field
        x, y = p
        if not compressed:
            return b"\x04" + f.to_bytes(x) + f.to_bytes(y)
        bit = f.mul(y, f.inv(x)) & 1 if x else 0
        return bytes([2 | bit]) + f.to_bytes(x)

    def decode_point(self, data: bytes) -> tuple[int, int]:
        """Decode a SEC 1 point and check that it lies on the curve."""
        f = self.field
        size = f.nbytes
        if len(data) == 1 + size and data[0] in (2, 3):
            x = self._element(data[1:])
            p = self._decompress(x, data[0] & 1)
        elif len(data) == 1 + 2 * size and data[0] == 4:
            p = (self._element(data[1 : 1 + size]), self._element(data[1 + size :]))
            if not self.is_on_curve(p):
                raise PointError("point is not on the curve")
        else:
            raise PointError(f"bad point encoding (prefix {data[:1].hex()}, {len(data)} octets)")
        return p

    def _element(self, data: bytes) -> int:
        try:
            return self.field.from_bytes(data)
        except ValueError as exc:
            raise PointError(str(exc)) from exc

    def _decompress(self, x: int, ybit: int) -> tuple[int, int]:
        f = self.field
        if x == 0:
            return (0, 1)  # y^2 = b = 1
        # y = x*z with z^2 + z = x + a + b/x^2
        beta = x ^ self.a ^ f.sqr(f.inv(x))
        z = f.half_trace(beta)
        if f.sqr(z) ^ z != beta:
            raise PointError("x is not the coordinate of a curve point")
        if (z & 1) != ybit:
            z ^= 1
        return (x, f.mul(x, z))


SECT283K1 = KoblitzCurve(
    name="sect283k1",
    field=SECT283_FIELD,
    a=0,
    n=int(
        "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE9AE2ED07577265DFF7F94451E061E163C61",
        16,
    ),
    h=4,
    gx=int(
        "0503213F78CA44883F1A3B8162F188E553CD265F23C1567A16876913B0C2AC2458492836",
        16,
    ),
    gy=int(
        "01CCDA380F1C9E318D90F95D07E5426FE87E45C0E8184698E45962364E34116177DD2259",
        16,
    ),
)

SECT163K1 = KoblitzCurve(
    name="sect163k1",
    field=SECT163_FIELD,
    a=1,
    n=int("04000000000000000000020108A2E0CC0D99F8A5EF", 16),
    h=2,
    gx=int("02FE13C0537BBC11ACAA07D793DE4E6D5E5C94EEE8", 16),
    gy=int("0289070FB05D38FF58321F2E800536D538CCDAA3D9", 16),
)
