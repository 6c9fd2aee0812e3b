"""ECDSA P-256/SHA-256 signatures in GBCS form (64 octets r||s) and a store of signers' keys.

``cryptography`` is imported where a key is first used, not with this module: a terminal
that has checked no signature yet (a server just started, idle) does without it.
"""

from __future__ import annotations

import re
import threading
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from .eui import eui_bytes

if TYPE_CHECKING:
    from collections.abc import Callable

    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    from .message import Message


SIGNATURE_LENGTH = 64
SCALAR_LENGTH = 32
_DS_FILE = re.compile(r"^([0-9a-fA-F]{16})-ds\.pem$")


@cache
def _ecdsa_sha256() -> ec.ECDSA:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.ECDSA(hashes.SHA256())


@cache
def _dss() -> tuple[Callable[[int, int], bytes], type[Exception]]:
    """``encode_dss_signature`` and ``InvalidSignature``, imported once (a verify is per
    message, and an import statement costs about a microsecond each time it runs)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    return encode_dss_signature, InvalidSignature


class SignatureState(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    ABSENT = "absent"
    SIGNER_UNKNOWN = "signer-unknown"


def sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """Sign ``data``; return the 64-octet r||s form GBCS carries."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    der = private_key.sign(data, _ecdsa_sha256())
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
    encode_dss_signature, invalid_signature = _dss()
    try:
        public_key.verify(encode_dss_signature(r, s), data, _ecdsa_sha256())
    except (invalid_signature, ValueError):
        return False
    return True


class CertificateStore:
    """Digital-Signing public keys by EUI-64 of their holder.

    Certificates given as files (``from_directory``) or as PEM text (``add_pem``) are read
    the first time their holder is looked up: checking one message against a large
    keystore reads one file, and a store nobody has asked yet has loaded no cryptography.
    Lookups may come from several threads (the runner's, the pages'): one certificate is
    read at a time, and a key is in place before its certificate leaves the unread, so a
    lookup finds one or the other, never neither.
    """

    def __init__(self) -> None:
        self._keys: dict[bytes, ec.EllipticCurvePublicKey] = {}
        #: holder -> its certificate's file, or its PEM (a certificate or a public key)
        self._unread: dict[bytes, Path | bytes] = {}
        self._reading = threading.Lock()

    @classmethod
    def from_directory(cls, path: Path | str) -> CertificateStore:
        """The ``<eui>-ds.pem`` certificates in ``path`` (EUI as 16 hex digits).

        A file that is no certificate is skipped, with a warning, when first needed."""
        store = cls()
        for entry in sorted(Path(path).iterdir()):
            match = _DS_FILE.match(entry.name)
            if match and entry.is_file():
                store._unread[eui_bytes(match.group(1))] = entry
        return store

    def add_pem(self, eui: bytes | str, pem: bytes) -> None:
        """Trust ``eui``'s Digital-Signing key, given as PEM (an X.509 certificate or a
        bare public key), read when the holder is first looked up."""
        holder = eui_bytes(eui)
        self._unread[holder] = pem
        self._keys.pop(holder, None)

    def _read(self, eui: bytes) -> None:
        """Read ``eui``'s certificate if it is still unread (the caller holds the lock)."""
        entry = self._unread.get(eui)
        if entry is None:
            return  # read by the thread that held the lock before
        try:
            if isinstance(entry, Path):
                self.add(eui, certificate_public_key(entry.read_bytes()))
            else:
                self.add(eui, _pem_public_key(entry))
        except (ValueError, OSError) as exc:
            self._unread.pop(eui, None)
            import logging  # only here: reading a message needs no logging machinery

            where = entry if isinstance(entry, Path) else f"the certificate of {eui.hex()}"
            logging.getLogger(__name__).warning("skipping %s: %s", where, exc)

    def add(
        self,
        eui: bytes | str,
        cert_or_public_key: x509.Certificate | ec.EllipticCurvePublicKey,
    ) -> None:
        """Trust ``eui``'s Digital-Signing key, given as the key or its X.509 certificate."""
        from cryptography.hazmat.primitives.asymmetric import ec

        if isinstance(cert_or_public_key, ec.EllipticCurvePublicKey):
            key = cert_or_public_key
        else:
            key = cert_or_public_key.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError("a Digital-Signing key must be an elliptic-curve key")
        holder = eui_bytes(eui)
        self._keys[holder] = key  # first: a lookup that no longer finds it unread finds it
        self._unread.pop(holder, None)

    def public_key_for(self, eui: bytes | str) -> ec.EllipticCurvePublicKey | None:
        try:
            holder = eui_bytes(eui)
        except ValueError:
            return None
        if holder in self._unread:
            with self._reading:
                self._read(holder)
        return self._keys.get(holder)

    def __contains__(self, eui: object) -> bool:
        if not isinstance(eui, bytes | str):
            return False
        return self.public_key_for(eui) is not None

    def __len__(self) -> int:
        with self._reading:
            for holder in list(self._unread):
                self._read(holder)
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


_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.DOTALL
)
#: X.509 TBSCertificate fields before subjectPublicKeyInfo (RFC 5280 4.1), after the
#: optional [0] version: serialNumber, signature, issuer, validity, subject.
_FIELDS_BEFORE_KEY = 5


def _pem_public_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    """The key of a PEM certificate, or a PEM public key itself."""
    if _PEM_CERTIFICATE.search(pem) is not None:
        return certificate_public_key(pem)
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(pem)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("the public key is not an elliptic-curve key")
    return key


def certificate_public_key(data: bytes) -> ec.EllipticCurvePublicKey:
    """The elliptic-curve public key of an X.509 certificate, PEM or DER.

    Only the certificate's subjectPublicKeyInfo is read (what verifying a signature needs),
    so reading a signer's certificate loads no X.509 machinery.  ValueError names what is
    wrong when ``data`` is no certificate or holds no elliptic-curve key.
    """
    import base64
    import binascii

    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    from .asn1 import parse_der
    from .errors import GbcsError

    pem = _PEM_CERTIFICATE.search(data)
    if pem is not None:
        try:
            data = base64.b64decode(b"".join(pem.group(1).split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"the PEM certificate is not valid base64: {exc}") from None
    try:
        certificate = parse_der(data)
    except GbcsError as exc:
        raise ValueError(f"not a DER certificate: {exc}") from None
    if not certificate.is_universal(16) or not certificate.children:
        raise ValueError("not an X.509 certificate (no outer SEQUENCE)")
    tbs = certificate.children[0]
    fields = tbs.children if tbs.is_universal(16) else []
    if fields and fields[0].is_context(0):
        fields = fields[1:]
    if len(fields) <= _FIELDS_BEFORE_KEY or not fields[_FIELDS_BEFORE_KEY].is_universal(16):
        raise ValueError("not an X.509 certificate (no subjectPublicKeyInfo)")
    spki = fields[_FIELDS_BEFORE_KEY]
    key = load_der_public_key(data[spki.offset : spki.offset + spki.length])
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("the certificate's key is not an elliptic-curve key")
    return key
