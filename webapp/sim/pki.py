"""A test PKI the project generates for demo data, the simulated HAN and tests.

It is not the Smart Metering PKI: it keeps one self-signed P-256 root CA in a directory and
issues X.509 certificates for Digital-Signing ("ds") and Key-Agreement ("ka") keys of devices
and organisations, named by EUI-64. Files use the same names as the DCC test keystore:
``<eui-hex-lower>-ds.pem`` / ``-ka.pem`` for certificates, ``.key`` for private keys.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from webapp.files import write_private
from webapp.gbcs.eui import eui_bytes
from webapp.x509_certs import key_usage, private_pem, self_signed_ca

log = logging.getLogger(__name__)

ROLES = ("ds", "ka")
ROOT_CERT_FILE = "root-ca.pem"
ROOT_KEY_FILE = "root-ca.key"
ROOT_NAME = "HHT Test Root CA"
ORGANISATION = "HHT test PKI (not for production)"
ROOT_VALIDITY = timedelta(days=3650)
LEAF_VALIDITY = timedelta(days=3650)
BACKDATE = timedelta(days=1)


@dataclass(frozen=True)
class Identity:
    eui: bytes
    role: str
    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def eui_hex(self) -> str:
        return self.eui.hex()

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        key = self.certificate.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return key

    def certificate_path(self, directory: Path) -> Path:
        return Path(directory) / f"{self.eui_hex}-{self.role}.pem"

    def key_path(self, directory: Path) -> Path:
        return Path(directory) / f"{self.eui_hex}-{self.role}.key"

    def save(self, directory: Path) -> None:
        """Write the certificate (PEM) and the private key (PEM, mode 0600)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.certificate_path(directory).write_bytes(
            self.certificate.public_bytes(serialization.Encoding.PEM)
        )
        write_private(self.key_path(directory), private_pem(self.private_key))

    @classmethod
    def load(cls, directory: Path, eui: bytes | str, role: str) -> Identity:
        value = eui_bytes(eui)
        base = Path(directory) / f"{value.hex()}-{role}"
        certificate = x509.load_pem_x509_certificate(base.with_suffix(".pem").read_bytes())
        key = serialization.load_pem_private_key(base.with_suffix(".key").read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{base}.key is not an elliptic-curve key")
        return cls(value, role, key, certificate)


class TestPki:
    """A root CA kept in ``directory`` that issues certificates for EUI-64 identities."""

    __test__ = False  # not a pytest test class

    def __init__(
        self, directory: Path, root_key: ec.EllipticCurvePrivateKey, root: x509.Certificate
    ) -> None:
        self.directory = Path(directory)
        self.root_key = root_key
        self.root = root

    @classmethod
    def load_or_create(cls, directory: Path) -> TestPki:
        directory = Path(directory)
        cert_path = directory / ROOT_CERT_FILE
        key_path = directory / ROOT_KEY_FILE
        if cert_path.exists() and key_path.exists():
            root = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_path} is not an elliptic-curve key")
            return cls(directory, key, root)
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, ROOT_NAME),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            ]
        )
        root = self_signed_ca(key, name, now - BACKDATE, now + ROOT_VALIDITY)
        write_private(key_path, private_pem(key))
        cert_path.write_bytes(root.public_bytes(serialization.Encoding.PEM))
        log.info("created test root CA in %s", directory)
        return cls(directory, key, root)

    def issue(self, eui: bytes | str, role: str) -> Identity:
        """A fresh key pair and certificate for ``eui`` in ``role`` ("ds" or "ka")."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        value = eui_bytes(eui)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, value.hex().upper()),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, value.hex().upper()),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role.upper()),
            ]
        )
        signing = role == "ds"
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.root.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + LEAF_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(key_usage(signing), critical=True)
            .sign(self.root_key, hashes.SHA256())
        )
        return Identity(value, role, key, certificate)

    def load_or_issue(self, eui: bytes | str, role: str) -> Identity:
        """The identity saved in this PKI's directory, issuing and saving it if absent."""
        try:
            return Identity.load(self.directory, eui, role)
        except FileNotFoundError:
            identity = self.issue(eui, role)
            identity.save(self.directory)
            return identity

    def verify_issued(self, certificate: x509.Certificate) -> bool:
        """True when ``certificate`` was signed by this PKI's root."""
        try:
            certificate.verify_directly_issued_by(self.root)
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True
