"""ECDSA P-256/SHA-256 signatures in GBCS form (64 octets r||s) and a store of signers' keys."""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from .eui import eui_bytes

if TYPE_CHECKING:
    from .message import Message

log = logging.getLogger(__name__)

SIGNATURE_LENGTH = 64
SCALAR_LENGTH = 32
_DS_FILE = re.compile(r"^([0-9a-fA-F]{16})-ds\.pem$")
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


class SignatureState(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    ABSENT = "absent"
    SIGNER_UNKNOWN = "signer-unknown"


def sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """Sign ``data``; return the 64-octet r||s form GBCS carries."""
    der = private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return r.to_bytes(SCALAR_LENGTH, "big") + s.to_bytes(SCALAR_LENGTH, "big")


def verify(public_key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes) -> bool:
    """True when ``signature`` (r||s) is a valid signature of ``data`` under ``public_key``."""
    if len(signature) != SIGNATURE_LENGTH:
        return False
    r = int.from_bytes(signature[:SCALAR_LENGTH], "big")
    s = int.from_bytes(signature[SCALAR_LENGTH:], "big")
    if r == 0 or s == 0:
        return False
    try:
        public_key.verify(encode_dss_signature(r, s), data, _ECDSA_SHA256)
    except (InvalidSignature, ValueError):
        return False
    return True


class CertificateStore:
    """Digital-Signing public keys by EUI-64 of their holder."""

    def __init__(self) -> None:
        self._keys: dict[bytes, ec.EllipticCurvePublicKey] = {}

    @classmethod
    def from_directory(cls, path: Path | str) -> CertificateStore:
        """Load every ``<eui>-ds.pem`` certificate in ``path`` (EUI as 16 hex digits)."""
        store = cls()
        directory = Path(path)
        for entry in sorted(directory.iterdir()):
            match = _DS_FILE.match(entry.name)
            if not match or not entry.is_file():
                continue
            try:
                certificate = x509.load_pem_x509_certificate(entry.read_bytes())
                store.add(match.group(1), certificate)
            except ValueError as exc:
                log.warning("skipping %s: %s", entry, exc)
        return store

    def add(
        self,
        eui: bytes | str,
        cert_or_public_key: x509.Certificate | ec.EllipticCurvePublicKey,
    ) -> None:
        if isinstance(cert_or_public_key, x509.Certificate):
            key = cert_or_public_key.public_key()
        else:
            key = cert_or_public_key
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError("a Digital-Signing key must be an elliptic-curve key")
        self._keys[eui_bytes(eui)] = key

    def public_key_for(self, eui: bytes | str) -> ec.EllipticCurvePublicKey | None:
        try:
            return self._keys.get(eui_bytes(eui))
        except ValueError:
            return None

    def __contains__(self, eui: object) -> bool:
        if not isinstance(eui, bytes | str):
            return False
        return self.public_key_for(eui) is not None

    def __len__(self) -> int:
        return len(self._keys)


def verify_message(message: Message, store: CertificateStore | None) -> SignatureState:
    """Check the message's signature against its originator's Digital-Signing key."""
    if message.signature is None:
        return SignatureState.ABSENT
    key = store.public_key_for(message.header.originator) if store is not None else None
    if key is None:
        return SignatureState.SIGNER_UNKNOWN
    if verify(key, message.signed_bytes, message.signature):
        return SignatureState.VALID
    return SignatureState.INVALID
