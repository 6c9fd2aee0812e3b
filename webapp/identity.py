"""The HHT's own signing identity: what it signs unloads and site surveys with.

One P-256 key per terminal, made on first use and kept owner-only in
``<data>/identity/``, with a self-signed certificate naming the terminal's id.
The back office trusts a terminal by that certificate's fingerprint.  An
optional DUIS XML signing key (``duis-signing.key`` + ``duis-signing.pem``,
provisioned by the supplier) lets unloads carry signed DUIS bodies.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from webapp.config import ensure_private_dir
from webapp.files import write_private
from webapp.x509_certs import private_pem

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

# ``cryptography`` is imported where a key is made or read: a server that has signed
# nothing yet (idle) does without it.

log = logging.getLogger(__name__)

IDENTITY_DIR = "identity"
KEY_FILE = "hht-signing.key"
CERT_FILE = "hht-signing.pem"
DUIS_KEY_FILE = "duis-signing.key"
DUIS_CERT_FILE = "duis-signing.pem"
VALIDITY = timedelta(days=3650)


@dataclass(frozen=True)
class SigningIdentity:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def terminal_id(self) -> str:
        from cryptography.x509.oid import NameOID

        return str(self.certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value)

    @property
    def fingerprint(self) -> str:
        from cryptography.hazmat.primitives import hashes

        return self.certificate.fingerprint(hashes.SHA256()).hex()

    @property
    def certificate_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.certificate.public_bytes(serialization.Encoding.PEM)


def _load(key_path: Path, cert_path: Path) -> SigningIdentity:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path} is not an EC private key")
    return SigningIdentity(key, x509.load_pem_x509_certificate(cert_path.read_bytes()))


def self_signed(
    organisation: str, common_name: str, serial: str, validity: timedelta = VALIDITY
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new P-256 key and its self-signed end-entity certificate (a terminal's or a fleet
    office's signing identity), valid from a day ago for ``validity``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, serial),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def terminal_identity(data_dir: Path) -> SigningIdentity:
    """This terminal's signing identity, created on first use."""
    directory = ensure_private_dir(Path(data_dir) / IDENTITY_DIR)
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    if key_path.is_file() and cert_path.is_file():
        return _load(key_path, cert_path)
    from cryptography.hazmat.primitives import serialization

    terminal_id = f"HHT-{secrets.token_hex(6).upper()}"
    key, cert = self_signed("HHT", f"Hand Held Terminal {terminal_id}", terminal_id)
    write_private(key_path, private_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    log.info("created terminal signing identity %s", terminal_id)
    return SigningIdentity(key, cert)


def duis_signing_identity(data_dir: Path) -> SigningIdentity | None:
    """The supplier-provisioned DUIS XML signing key, when one is configured."""
    directory = Path(data_dir) / IDENTITY_DIR
    key_path, cert_path = directory / DUIS_KEY_FILE, directory / DUIS_CERT_FILE
    if not (key_path.is_file() and cert_path.is_file()):
        return None
    return _load(key_path, cert_path)


def install_duis_signing_key(data_dir: Path, key_pem: bytes, cert_pem: bytes) -> SigningIdentity:
    """Keep a DUIS signing key and its certificate (checked to belong together)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(key_pem, None)
    cert = x509.load_pem_x509_certificate(cert_pem)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("the DUIS signing key must be ECDSA P-256")
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise ValueError("the DUIS signing certificate is not for this key")
    directory = ensure_private_dir(Path(data_dir) / IDENTITY_DIR)
    write_private(directory / DUIS_KEY_FILE, key_pem)
    (directory / DUIS_CERT_FILE).write_bytes(cert_pem)
    return SigningIdentity(key, cert)
