"""tau-adic arithmetic for Koblitz curves (Solinas; Hankerson-Menezes-Vanstone ch. 3.4).

On a Koblitz curve the Frobenius map tau(x, y) = (x^2, y^2) satisfies
tau^2 = mu*tau - 2 (mu = 1 when a = 1, -1 when a = 0), so a scalar can be written in
base tau and multiplied with squarings in place of doublings.  Elements of Z[tau] are
pairs (r0, r1) meaning r0 + r1*tau.  Every point of E(GF(2^m)) is fixed by tau^m, so
reducing a scalar modulo tau^m - 1 leaves k*P unchanged for any point on the curve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ZTau = tuple[int, int]


def _round_div(x: int, n: int) -> int:
    """Nearest integer to x/n for n > 0."""
    return (2 * x + n) // (2 * n)


@dataclass(frozen=True)
class TauRing:
    """Z[tau] with tau^2 = mu*tau - 2."""

    mu: int

    def mul(self, a: ZTau, b: ZTau) -> ZTau:
        a0, a1 = a
        b0, b1 = b
        return (a0 * b0 - 2 * a1 * b1, a0 * b1 + a1 * b0 + self.mu * a1 * b1)

    def norm(self, a: ZTau) -> int:
        a0, a1 = a
        return a0 * a0 + self.mu * a0 * a1 + 2 * a1 * a1

    def conj(self, a: ZTau) -> ZTau:
        return (a[0] + self.mu * a[1], -a[1])

    def lucas(self, k: int) -> tuple[int, int]:
        """(U_{k-1}, U_k) with U_0 = 0, U_1 = 1, U_{i+1} = mu*U_i - 2*U_{i-1}."""
        if k < 1:
            raise ValueError("Lucas pair needs k >= 1")
        prev, cur = 0, 1
        for _ in range(k - 1):
            prev, cur = cur, self.mu * cur - 2 * prev
        return prev, cur

    def tau_power(self, k: int) -> ZTau:
        """tau^k = U_k*tau - 2*U_{k-1}."""
        if k == 0:
            return (1, 0)
        prev, cur = self.lucas(k)
        return (-2 * prev, cur)

    def mod(self, a: ZTau, b: ZTau) -> ZTau:
        """A representative of a modulo b with small norm (division rounded per coordinate)."""
        n = self.norm(b)
        c0, c1 = self.mul(a, self.conj(b))
        q = (_round_div(c0, n), _round_div(c1, n))
        p0, p1 = self.mul(q, b)
        return (a[0] - p0, a[1] - p1)


@dataclass(frozen=True)
class TnafParams:
    """Width-w tau-NAF: digit u (odd, |u| < 2^(w-1)) stands for sign(u) * alpha_|u|."""

    ring: TauRing
    w: int
    t_w: int = field(init=False)
    alphas: dict[int, ZTau] = field(init=False)

    def __post_init__(self) -> None:
        prev, cur = self.ring.lucas(self.w)
        modulus = 1 << self.w
        t_w = (2 * prev * pow(cur, -1, modulus)) % modulus if self.w > 1 else 0
        tw_power = self.ring.tau_power(self.w)
        alphas = {u: self.ring.mod((u, 0), tw_power) for u in range(1, 1 << (self.w - 1), 2)}
        object.__setattr__(self, "t_w", t_w)
        object.__setattr__(self, "alphas", alphas)

    def digits(self, r: ZTau) -> list[int]:
        """The width-w tau-NAF of r0 + r1*tau, least significant digit first."""
        r0, r1 = r
        mu, w, t_w, alphas = self.ring.mu, self.w, self.t_w, self.alphas
        mask = (1 << w) - 1
        half = 1 << (w - 1)
        out: list[int] = []
        while r0 or r1:
            if r0 & 1:
                u = (r0 + r1 * t_w) & mask
                if u >= half:
                    u -= 1 << w
                if u > 0:
                    b, g = alphas[u]
                    r0 -= b
                    r1 -= g
                else:
                    b, g = alphas[-u]
                    r0 += b
                    r1 += g
                out.append(u)
            else:
                out.append(0)
            h = r0 >> 1  # r0 is even here
            r0, r1 = r1 + mu * h, -h
        return out

    def evaluate(self, digits: list[int]) -> ZTau:
        """Back from digits to an element of Z[tau] (for checks)."""
        acc: ZTau = (0, 0)
        tau = (0, 1)
        for d in reversed(digits):
            acc = self.ring.mul(acc, tau)
            if d:
                b, g = self.alphas[abs(d)]
                s = 1 if d > 0 else -1
                acc = (acc[0] + s * b, acc[1] + s * g)
        return acc
