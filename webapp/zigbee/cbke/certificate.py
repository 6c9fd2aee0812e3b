"""ECQV implicit certificates (Certicom format) for both suites and public-key reconstruction.

Suite 2 (74 octets): type(1) serial(8) curve(1, 0x0D) hash(1, 0x08) issuer(8)
valid-from(5, UTC seconds since 1970) valid-to(4, seconds after valid-from, FFFFFFFF = no
expiry) subject(8) key-usage(1) reconstruction point(37).
Suite 1 (48 octets): reconstruction point(22) subject(8) issuer(8) profile attribute data(10).

The device public key is Q = e*P + Q_CA with e = AES-MMO(whole certificate).
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.zigbee.cbke.aesmmo import aes_mmo_hash
from webapp.zigbee.cbke.curves import Point, PointError
from webapp.zigbee.cbke.suites import SUITE_1, SUITE_2, CryptoSuite
from webapp.zigbee.types import EUI64

CURVE_SECT283K1 = 0x0D
HASH_AES_MMO = 0x08
NO_EXPIRY = 0xFFFFFFFF
KEY_USAGE_KEY_AGREEMENT = 0x08
KEY_USAGE_SIGNATURE = 0x80


class CertificateError(ValueError):
    """A certificate that cannot be parsed or used."""


@dataclass(frozen=True)
class Certificate:
    """Fields common to both formats, plus the raw octets the hash runs over."""

    suite: CryptoSuite
    raw: bytes
    subject: EUI64
    issuer: bytes
    reconstruction_point: bytes
    serial: bytes = b""
    valid_from: int | None = None  # UTC seconds since 1970 (suite 2 only)
    valid_to: int | None = None  # seconds after valid_from; NO_EXPIRY = never
    key_usage: int | None = None
    profile_data: bytes = b""

    @property
    def expires_at(self) -> int | None:
        if self.valid_from is None or self.valid_to in (None, NO_EXPIRY):
            return None
        return self.valid_from + self.valid_to

    def valid_at(self, now: float) -> bool:
        if self.valid_from is not None and now < self.valid_from:
            return False
        end = self.expires_at
        return end is None or now <= end

    @property
    def hash_e(self) -> int:
        return int.from_bytes(aes_mmo_hash(self.raw), "big")

    def public_key(self, ca_public_key: Point) -> tuple[int, int]:
        """ECQV reconstruction: Q = e*P + Q_CA (raises CertificateError)."""
        curve = self.suite.curve
        if ca_public_key is None:
            raise CertificateError("no CA public key")
        try:
            p = curve.decode_point(self.reconstruction_point)
        except PointError as exc:
            raise CertificateError(f"bad reconstruction point: {exc}") from exc
        q = curve.mul2(self.hash_e, p, 1, ca_public_key)
        if q is None:
            raise CertificateError("reconstructed key is the point at infinity")
        return q


def parse_certificate(data: bytes, suite: CryptoSuite) -> Certificate:
    """Split a certificate of ``suite`` into its fields (format checks only)."""
    data = bytes(data)
    if len(data) != suite.certificate_length:
        raise CertificateError(
            f"suite {int(suite.id)} certificate must be {suite.certificate_length} octets, "
            f"not {len(data)}"
        )
    if suite is SUITE_2:
        if data[0] != 0x00:
            raise CertificateError(f"unknown certificate type {data[0]:#04x}")
        if data[9] != CURVE_SECT283K1:
            raise CertificateError(f"unknown curve {data[9]:#04x}")
        if data[10] != HASH_AES_MMO:
            raise CertificateError(f"unknown hash {data[10]:#04x}")
        point = data[37:74]
        if point[0] not in (2, 3):
            raise CertificateError("reconstruction point is not compressed")
        return Certificate(
            suite=suite,
            raw=data,
            serial=data[1:9],
            issuer=data[11:19],
            valid_from=int.from_bytes(data[19:24], "big"),
            valid_to=int.from_bytes(data[24:28], "big"),
            subject=EUI64.from_be(data[28:36]),
            key_usage=data[36],
            reconstruction_point=point,
        )
    if suite is SUITE_1:
        point = data[0:22]
        if point[0] not in (2, 3):
            raise CertificateError("reconstruction point is not compressed")
        return Certificate(
            suite=suite,
            raw=data,
            reconstruction_point=point,
            subject=EUI64.from_be(data[22:30]),
            issuer=data[30:38],
            profile_data=data[38:48],
        )
    raise CertificateError(f"unsupported suite {suite.id!r}")


def encode_suite2_certificate(
    *,
    serial: bytes,
    issuer: bytes,
    valid_from: int,
    valid_to: int,
    subject: EUI64,
    key_usage: int,
    reconstruction_point: bytes,
) -> bytes:
    """Assemble the 74 octets of a suite-2 certificate."""
    if len(serial) != 8 or len(issuer) != 8 or len(reconstruction_point) != 37:
        raise CertificateError("serial and issuer need 8 octets, the point 37")
    return (
        b"\x00"
        + serial
        + bytes([CURVE_SECT283K1, HASH_AES_MMO])
        + issuer
        + valid_from.to_bytes(5, "big")
        + valid_to.to_bytes(4, "big")
        + subject.be
        + bytes([key_usage])
        + reconstruction_point
    )
