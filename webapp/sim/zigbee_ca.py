"""A test certificate authority issuing Certicom-style suite-2 ECQV implicit certificates.

For the HHT and the simulated hubs only: with a seed every key and certificate is
reproducible, without one the keys come from the OS random source.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from webapp.zigbee.cbke.aesmmo import aes_mmo_hash
from webapp.zigbee.cbke.certificate import (
    KEY_USAGE_KEY_AGREEMENT,
    KEY_USAGE_SIGNATURE,
    NO_EXPIRY,
    encode_suite2_certificate,
)
from webapp.zigbee.cbke.credentials import Credentials
from webapp.zigbee.cbke.suites import SUITE_2
from webapp.zigbee.types import EUI64

DEFAULT_ISSUER = bytes.fromhex("4848545445535443")  # "HHTTESTC"
DEFAULT_VALID_FROM = 1_577_836_800  # 2020-01-01T00:00:00Z


class _Stream:
    """Deterministic octets from a seed (SHA-256 in counter mode), or os.urandom."""

    def __init__(self, seed: bytes | None) -> None:
        self.seed = seed
        self.counter = 0

    def octets(self, n: int, label: bytes) -> bytes:
        if self.seed is None:
            return os.urandom(n)
        out = b""
        while len(out) < n:
            self.counter += 1
            out += hashlib.sha256(
                self.seed + b"|" + label + b"|" + self.counter.to_bytes(8, "big")
            ).digest()
        return out[:n]

    def scalar(self, n: int, label: bytes) -> int:
        while True:
            k = int.from_bytes(self.octets((n.bit_length() + 7) // 8, label), "big")
            k &= (1 << n.bit_length()) - 1
            if 0 < k < n:
                return k


def _seed_bytes(seed: int | str | bytes | None) -> bytes | None:
    if seed is None:
        return None
    if isinstance(seed, int):
        return seed.to_bytes(16, "big", signed=True)
    if isinstance(seed, str):
        return seed.encode()
    return bytes(seed)


@dataclass
class TestCa:
    """Issues suite-2 certificates: Q_subject = e*P + Q_CA, d_subject = e*k + d_CA mod n."""

    __test__ = False  # not a pytest test class

    private_key: int
    issuer: bytes = DEFAULT_ISSUER
    _stream: _Stream = field(default_factory=lambda: _Stream(None), repr=False)
    _serial: int = 0

    @classmethod
    def create(
        cls, seed: int | str | bytes | None = None, issuer: bytes = DEFAULT_ISSUER
    ) -> TestCa:
        stream = _Stream(_seed_bytes(seed))
        return cls(
            private_key=stream.scalar(SUITE_2.curve.n, b"ca-key"),
            issuer=issuer,
            _stream=stream,
        )

    @property
    def public_key(self) -> bytes:
        curve = SUITE_2.curve
        return curve.encode_point(curve.mul(self.private_key, curve.g))

    def issue(
        self,
        subject: EUI64,
        *,
        valid_from: int = DEFAULT_VALID_FROM,
        valid_to: int = NO_EXPIRY,
        key_usage: int = KEY_USAGE_KEY_AGREEMENT | KEY_USAGE_SIGNATURE,
        serial: bytes | None = None,
        issuer: bytes | None = None,
    ) -> Credentials:
        """Credentials (certificate + private key + CA key) for ``subject``."""
        curve = SUITE_2.curve
        self._serial += 1
        if serial is None:
            serial = self._serial.to_bytes(2, "big") + self._stream.octets(6, b"serial")
        k = self._stream.scalar(curve.n, b"cert-key:" + subject.be)
        point = curve.encode_point(curve.mul(k, curve.g))
        cert = encode_suite2_certificate(
            serial=serial,
            issuer=self.issuer if issuer is None else issuer,
            valid_from=valid_from,
            valid_to=valid_to,
            subject=subject,
            key_usage=key_usage,
            reconstruction_point=point,
        )
        e = int.from_bytes(aes_mmo_hash(cert), "big")
        private = (e * k + self.private_key) % curve.n
        return Credentials(
            certificate=cert, private_key=private, ca_public_key=self.public_key, suite=SUITE_2
        )
