"""tau-adic recoding and Frobenius scalar multiplication against the binary method."""

from __future__ import annotations

import random

import pytest

from webapp.zigbee.cbke.curves import SECT163K1, SECT283K1, KoblitzCurve, PointError
from webapp.zigbee.cbke.tau import TauRing, TnafParams

CURVES = [SECT283K1, SECT163K1]


@pytest.mark.parametrize("mu", [1, -1])
def test_ring_identities(mu: int) -> None:
    ring = TauRing(mu)
    tau = (0, 1)
    assert ring.mul(tau, tau) == (-2, mu)  # tau^2 = mu*tau - 2
    x = (12345, -678)
    assert ring.mul(x, ring.conj(x)) == (ring.norm(x), 0)
    power = (1, 0)
    for k in range(1, 20):
        power = ring.mul(power, tau)
        assert ring.tau_power(k) == power
    r = ring.mod((10**40, 3), ring.tau_power(50))
    assert ring.norm(r) < 4 * ring.norm(ring.tau_power(50))


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_norm_of_tau_m_minus_1_is_the_group_order(curve: KoblitzCurve) -> None:
    ring = TauRing(1 if curve.a else -1)
    t0, t1 = ring.tau_power(curve.field.m)
    assert ring.norm((t0 - 1, t1)) == curve.h * curve.n


@pytest.mark.parametrize("mu", [1, -1])
@pytest.mark.parametrize("w", [2, 4, 5, 7])
def test_tnaf_digits(mu: int, w: int) -> None:
    params = TnafParams(TauRing(mu), w)
    assert (params.t_w**2 - mu * params.t_w + 2) % (1 << w) == 0
    for u, (b, g) in params.alphas.items():
        assert (b + g * params.t_w - u) % (1 << w) == 0
    rng = random.Random(w * mu)
    for _ in range(30):
        r = (rng.randrange(-(2**150), 2**150), rng.randrange(-(2**150), 2**150))
        digits = params.digits(r)
        assert params.evaluate(digits) == r
        nonzero = [i for i, d in enumerate(digits) if d]
        assert all(b - a >= w for a, b in zip(nonzero, nonzero[1:], strict=False))


def _random_point(curve: KoblitzCurve, rng: random.Random) -> tuple[int, int]:
    while True:
        x = rng.getrandbits(curve.field.m)
        try:
            return curve.decode_point(b"\x02" + curve.field.to_bytes(x))
        except PointError:
            continue


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_frobenius_multiplication_matches_binary(curve: KoblitzCurve) -> None:
    rng = random.Random(curve.field.m)
    g = curve.g
    # tau^2 = mu*tau - 2 on the points
    mu_tau = curve.frobenius(g) if curve.a else curve.neg(curve.frobenius(g))
    assert curve.frobenius(curve.frobenius(g)) == curve.add(
        mu_tau, curve.neg(curve.mul_binary(2, g))
    )
    outside = 0
    for _ in range(4):
        p = _random_point(curve, rng)  # usually has a component outside the order-n subgroup
        if curve.mul_binary(curve.n, p) is not None:
            outside += 1
        for k in (
            rng.getrandbits(curve.field.m + 40),
            curve.n - 1,
            curve.h * curve.n,
            curve.h * rng.getrandbits(curve.field.m),
        ):
            assert curve.mul(k, p) == curve.mul_binary(k, p)
        k1, k2 = rng.getrandbits(curve.field.m), rng.getrandbits(300)
        expected = curve.add(curve.mul_binary(k1, g), curve.mul_binary(k2, p))
        assert curve.mul2(k1, g, k2, p) == expected
    assert outside > 0
    assert curve.mul(curve.h * curve.n, p) is None
