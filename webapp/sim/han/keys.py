"""Device credentials of the simulated HAN, derived from the HAN's seed.

Each device gets a P-256 Digital-Signing key (it signs its responses) with an X.509
certificate issued by the simulated HAN's own device CA, and a 16-byte MAC key shared with
the "DCC" side (standing in for the ECDH-derived keys of real GBCS, see
:mod:`webapp.gbcs.mac`).  Keys are derived from the seed, so the same seed gives the same
keys.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from webapp.x509_certs import key_usage, private_pem

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

# ``cryptography`` is imported where a key is made or read: the simulated HAN loads its
# keys when a device first signs, so a server just started does without it.

log = logging.getLogger(__name__)

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
MAC_KEY_LENGTH = 16
# SMKI device certificates carry no end date ("99991231235959Z").
VALID_FROM = datetime(2020, 1, 1, tzinfo=UTC)
VALID_TO = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
CA_NAME = "HHT simulated HAN device CA"


def _digest(*parts: object) -> bytes:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()


def derive_signing_key(seed: int, label: str) -> ec.EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives.asymmetric import ec

    scalar = int.from_bytes(_digest("hht-sim-ds", seed, label), "big") % (P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def derive_mac_key(seed: int, eui: str) -> bytes:
    return _digest("hht-sim-mac", seed, eui)[:MAC_KEY_LENGTH]


def load_private_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not an elliptic-curve private key")
    return key


def _serial(seed: int, label: str) -> int:
    return int.from_bytes(_digest("hht-sim-serial", seed, label)[:16], "big") >> 1 or 1


@dataclass(frozen=True)
class DeviceCa:
    """The issuer of the simulated devices' certificates."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def for_seed(cls, seed: int) -> DeviceCa:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import NameOID

        key = derive_signing_key(seed, "device-ca")
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(_serial(seed, "device-ca"))
            .not_valid_before(VALID_FROM)
            .not_valid_after(VALID_TO)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key=key, certificate=certificate)

    def issue(self, seed: int, eui: str, public_key: ec.EllipticCurvePublicKey) -> bytes:
        """A Digital-Signing certificate (PEM) for device ``eui``."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import NameOID

        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, eui)]))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(_serial(seed, eui))
            .not_valid_before(VALID_FROM)
            .not_valid_after(VALID_TO)
            .add_extension(key_usage(signing=True), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class DeviceCredentials:
    signing_key_pem: bytes
    certificate_pem: bytes
    mac_key: bytes


def device_credentials(ca: DeviceCa, seed: int, eui: str) -> DeviceCredentials:
    key = derive_signing_key(seed, eui)
    return DeviceCredentials(
        signing_key_pem=private_pem(key),
        certificate_pem=ca.issue(seed, eui, key.public_key()),
        mac_key=derive_mac_key(seed, eui),
    )
