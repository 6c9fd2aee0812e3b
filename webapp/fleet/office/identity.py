"""The fleet office's own signing identity: what its central unloads are signed with.

One P-256 key and a self-signed certificate naming the fleet (``FLEET-…`` in its
serialNumber), made on first use (``hht fleet migrate`` or the first ``hht fleet serve``)
and kept owner-only in the identity folder: ``--identity-dir``, else ``$HHT_FLEET_IDENTITY``,
else ``$STATE_DIRECTORY/identity`` (systemd's StateDirectory), else
``~/.local/share/hht-fleet/identity``.  A key and certificate issued elsewhere (a company CA)
can be given by path instead (``--signing-key`` and ``--signing-cert``); the back office
trusts the fleet by its certificate's fingerprint, as it trusts an HHT's.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from webapp.config import ensure_private_dir
from webapp.files import write_private
from webapp.identity import SigningIdentity, self_signed
from webapp.x509_certs import private_pem

log = logging.getLogger(__name__)

IDENTITY_ENV = "HHT_FLEET_IDENTITY"
STATE_ENV = "STATE_DIRECTORY"
DEFAULT_HOME = Path("~/.local/share/hht-fleet")
IDENTITY_DIR = "identity"
KEY_FILE = "fleet-signing.key"
CERT_FILE = "fleet-signing.pem"
VALIDITY = timedelta(days=3650)
ORGANISATION = "HHT fleet office"


class FleetIdentityError(ValueError):
    """The fleet's signing key or certificate cannot be used, with the reason."""


def default_dir() -> Path:
    """Where the fleet's identity lives when no folder is given."""
    if os.environ.get(IDENTITY_ENV):
        return Path(os.environ[IDENTITY_ENV])
    state = os.environ.get(STATE_ENV, "").split(":")[0]
    if state:
        return Path(state) / IDENTITY_DIR
    return DEFAULT_HOME.expanduser() / IDENTITY_DIR


def load(key_path: Path, cert_path: Path) -> SigningIdentity:
    """A key and certificate given by path (issued by a CA, say); they must belong together."""
    try:
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), None)
        cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise FleetIdentityError(f"the fleet's signing key or certificate: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise FleetIdentityError(f"{key_path} is not an ECDSA private key")
    if cert.public_key() != key.public_key():
        raise FleetIdentityError(f"{cert_path} is not the certificate of {key_path}")
    if not cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
        raise FleetIdentityError(f"{cert_path} names no fleet id (serialNumber)")
    return SigningIdentity(key, cert)


def fleet_identity(directory: Path | None = None, *, create: bool = True) -> SigningIdentity:
    """The fleet's signing identity in ``directory`` (the default one when None), made on
    first use unless ``create`` is False (then a missing one is an error: a second identity
    made by mistake would sign unloads the back office does not trust)."""
    folder = Path(directory) if directory else default_dir()
    key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
    if key_path.is_file() and cert_path.is_file():
        return load(key_path, cert_path)
    if not create:
        raise FleetIdentityError(
            f"no fleet signing identity in {folder}: give the folder hht fleet migrate made it "
            f"in (--identity-dir or ${IDENTITY_ENV})"
        )
    folder = ensure_private_dir(folder)
    fleet_id = f"FLEET-{secrets.token_hex(6).upper()}"
    key, cert = self_signed(ORGANISATION, f"HHT fleet office {fleet_id}", fleet_id, VALIDITY)
    write_private(key_path, private_pem(key))
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    log.info("created the fleet's signing identity %s in %s", fleet_id, folder)
    return SigningIdentity(key, cert)


def resolve(
    directory: Path | None,
    key_path: Path | None = None,
    cert_path: Path | None = None,
    *,
    create: bool = True,
) -> SigningIdentity:
    """The identity the command line asked for: a key and certificate by path, or the one in
    ``directory`` (made there on first use when ``create``)."""
    if (key_path is None) != (cert_path is None):
        raise FleetIdentityError("give both --signing-key and --signing-cert, or neither")
    if key_path is not None and cert_path is not None:
        return load(key_path, cert_path)
    return fleet_identity(directory, create=create)
