"""Which suppliers this HHT trusts, and checking what they sign.

A supervisor provisions each supplier's certificate (X.509, ECDSA P-256). Work
packs carry a detached ECDSA-SHA256 signature over their manifest, which lists
the SHA-256 of every other file: one signature covers all of it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from webapp.gbcs.eui import EuiError, eui_text, require_eui_text
from webapp.store.clock import utc_now
from webapp.workpack.errors import WorkPackError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from sqlite_utils import Database

# ``cryptography`` is imported where a certificate is read or a signature made or checked:
# a server that has loaded and signed nothing yet (idle) does without it.

MAX_NAME_LENGTH = 80
MAX_PEM_BYTES = 16 * 1024


@dataclass(frozen=True)
class TrustedSupplier:
    eui: str
    name: str
    certificate: x509.Certificate


def normalise_eui(text: str, what: str = "EUI") -> str:
    """``text`` as 16 upper-case hex digits; WorkPackError naming ``what`` when it is not."""
    try:
        return require_eui_text(text, what)
    except EuiError as exc:
        raise WorkPackError([str(exc)]) from None


def load_certificate(pem: bytes) -> x509.Certificate:
    """A P-256 certificate from PEM, or WorkPackError saying what it is instead."""
    if len(pem) > MAX_PEM_BYTES:
        raise WorkPackError([f"the certificate file is over {MAX_PEM_BYTES} bytes"])
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise WorkPackError(["not a PEM X.509 certificate"]) from None
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise WorkPackError(["the certificate's key is not ECDSA P-256"])
    return cert


def certificate_eui(cert: x509.Certificate) -> str | None:
    """The EUI-64 a certificate names in its subject (serialNumber, else CN), if any."""
    from cryptography.x509.oid import NameOID

    for oid in (NameOID.SERIAL_NUMBER, NameOID.COMMON_NAME):
        for attr in cert.subject.get_attributes_for_oid(oid):
            value = eui_text(str(attr.value))
            if value is not None:
                return value
    return None


def validity_problem(cert: x509.Certificate, now: datetime | None = None) -> str | None:
    now = now or datetime.now(UTC)
    if now < cert.not_valid_before_utc:
        return f"its certificate is not valid until {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    if now > cert.not_valid_after_utc:
        return f"its certificate expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    return None


def fingerprint(cert: x509.Certificate) -> str:
    from cryptography.hazmat.primitives import hashes

    return cert.fingerprint(hashes.SHA256()).hex()


def add_supplier(
    db: Database, pem: bytes, name: str, eui: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Trust ``pem`` for supplier ``eui`` (taken from the certificate when not given)."""
    cert = load_certificate(pem)
    problems = []
    named = certificate_eui(cert)
    if eui:
        eui = normalise_eui(eui, "supplier EUI")
        if named and named != eui:
            problems.append(f"the certificate names {named}, not {eui}")
    elif named:
        eui = named
    else:
        problems.append("give the supplier's EUI: the certificate does not name one")
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        problems.append(f"the supplier's name must be 1 to {MAX_NAME_LENGTH} characters")
    problem = validity_problem(cert, now)
    if problem:
        problems.append(problem.replace("its certificate", "the certificate"))
    if problems:
        raise WorkPackError(problems)
    from cryptography.hazmat.primitives import serialization

    row = {
        "eui": eui,
        "name": name,
        "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "fingerprint": fingerprint(cert),
        "added_at": utc_now(),
    }
    db["suppliers"].upsert(row, pk="eui")
    return row


def trusted_supplier(db: Database, eui: str) -> TrustedSupplier | None:
    row = db.execute(
        "SELECT eui, name, certificate_pem FROM suppliers WHERE eui = ?", [eui]
    ).fetchone()
    if row is None or not row[2]:
        return None
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(row[2].encode())
    except ValueError:
        return None
    return TrustedSupplier(row[0], row[1], cert)


def sign_detached(data: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """Base64 of the DER ECDSA-SHA256 signature over ``data`` (one line, ASCII)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))) + b"\n"


def verify_detached(data: bytes, signature: bytes, cert: x509.Certificate) -> str | None:
    """None when ``signature`` (as :func:`sign_detached` writes it) is good; else why not."""
    try:
        der = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return "the signature file is not base64"
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return "the certificate's key is not an elliptic-curve key"
    try:
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return "the signature does not verify with the signer's certificate"
    return None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
