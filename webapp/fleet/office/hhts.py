"""Enrolment: which HHTs the fleet admits, by their terminal certificate.

``hht identity export`` on an HHT prints the certificate that already signs its unloads;
``hht fleet enrol CERT.pem --name NAME`` admits it here (its terminal id is the
certificate's serialNumber attribute); ``hht fleet revoke`` refuses it from then on.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
TERMINAL_ID_RE = re.compile(r"^HHT-[0-9A-F]{12}$")
MAX_PEM_BYTES = 16 * 1024


class EnrolError(ValueError):
    """The certificate or name cannot be enrolled, or the HHT is not known, with the reason."""


@dataclass(frozen=True)
class Hht:
    id: str
    name: str
    fingerprint: str
    certificate: x509.Certificate
    revoked: bool


def read_certificate(pem: bytes) -> tuple[x509.Certificate, str]:
    """The terminal certificate in ``pem`` and the terminal id it names."""
    if len(pem) > MAX_PEM_BYTES:
        raise EnrolError(f"the certificate is over {MAX_PEM_BYTES} bytes")
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise EnrolError(f"not a PEM certificate: {exc}") from None
    if not isinstance(cert.public_key(), ec.EllipticCurvePublicKey):
        raise EnrolError("not a terminal certificate: its key is not ECDSA")
    ids = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    terminal_id = str(ids[0].value) if ids else ""
    if not TERMINAL_ID_RE.match(terminal_id):
        raise EnrolError("not an HHT's terminal certificate: it names no HHT-… terminal id")
    return cert, terminal_id


def enrol(conn: psycopg.Connection, pem: bytes, name: str, actor: str) -> Hht:
    """Admit the HHT whose terminal certificate is ``pem`` under ``name``."""
    if not NAME_RE.match(name):
        raise EnrolError(f"{name!r} is not a usable name (letters, digits, space . _ -)")
    cert, terminal_id = read_certificate(pem)
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    text = pem.decode("ascii")
    with conn.transaction():
        row = conn.execute(
            "SELECT id, name, fingerprint, revoked_at FROM hhts WHERE id = %s OR name = %s "
            "OR fingerprint = %s",
            [terminal_id, name, fingerprint],
        ).fetchone()
        if row is not None:
            raise EnrolError(
                f"already enrolled: {row['id'] if isinstance(row, dict) else row[0]} "
                f"(name {row['name'] if isinstance(row, dict) else row[1]})"
            )
        conn.execute(
            "INSERT INTO hhts (id, name, fingerprint, certificate_pem, not_after, enrolled_by) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [terminal_id, name, fingerprint, text, cert.not_valid_after_utc, actor],
        )
    log.info("enrolled %s as %s", terminal_id, name)
    return Hht(terminal_id, name, fingerprint, cert, False)


def revoke(conn: psycopg.Connection, name_or_id: str) -> str:
    """Refuse the HHT named ``name_or_id`` from now on; its id."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE hhts SET revoked_at = coalesce(revoked_at, now()) "
            "WHERE id = %s OR name = %s RETURNING id",
            [name_or_id, name_or_id],
        ).fetchone()
        if row is None:
            raise EnrolError(f"no HHT {name_or_id!r} is enrolled")
        terminal_id = row["id"] if isinstance(row, dict) else row[0]
        conn.execute("DELETE FROM sync_challenges WHERE hht_id = %s", [terminal_id])
    log.info("revoked %s", terminal_id)
    return str(terminal_id)


def find(conn: psycopg.Connection, terminal_id: str) -> Hht | None:
    row = conn.execute(
        "SELECT id, name, fingerprint, certificate_pem, revoked_at FROM hhts WHERE id = %s",
        [terminal_id],
    ).fetchone()
    if row is None:
        return None
    values: dict[str, Any] = (
        row
        if isinstance(row, dict)
        else dict(
            zip(("id", "name", "fingerprint", "certificate_pem", "revoked_at"), row, strict=True)
        )
    )
    return Hht(
        values["id"],
        values["name"],
        values["fingerprint"],
        x509.load_pem_x509_certificate(values["certificate_pem"].encode()),
        values["revoked_at"] is not None,
    )
