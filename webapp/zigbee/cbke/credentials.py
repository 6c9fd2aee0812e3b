"""A device's own CBKE material: certificate, static private key, CA public key."""

from __future__ import annotations

from dataclasses import dataclass, field

from webapp.zigbee.cbke.certificate import Certificate, CertificateError, parse_certificate
from webapp.zigbee.cbke.curves import PointError
from webapp.zigbee.cbke.suites import SUITE_2, CryptoSuite
from webapp.zigbee.types import EUI64


@dataclass(frozen=True)
class Credentials:
    certificate: bytes
    private_key: int
    ca_public_key: bytes
    suite: CryptoSuite = SUITE_2
    parsed: Certificate = field(init=False, repr=False, compare=False)
    ca_point: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parsed", parse_certificate(self.certificate, self.suite))
        try:
            ca = self.suite.curve.decode_point(self.ca_public_key)
        except PointError as exc:
            raise CertificateError(f"bad CA public key: {exc}") from exc
        object.__setattr__(self, "ca_point", ca)
        if self.private_key <= 0:
            raise CertificateError("private key must be positive")

    @property
    def ieee(self) -> EUI64:
        return self.parsed.subject

    @property
    def issuer(self) -> bytes:
        return self.parsed.issuer

    @classmethod
    def from_hex(
        cls, certificate: str, private_key: str, ca_public_key: str, suite: CryptoSuite = SUITE_2
    ) -> Credentials:
        return cls(
            certificate=bytes.fromhex(certificate),
            private_key=int(private_key, 16),
            ca_public_key=bytes.fromhex(ca_public_key),
            suite=suite,
        )
