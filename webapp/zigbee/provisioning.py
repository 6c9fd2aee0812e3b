"""The HHT's own Zigbee key-establishment credentials, kept in the data dir.

A real HHT carries a Smart Energy certificate (suite 2, issued by the Zigbee SE CA through
the supplier), its private key, the CA's public key and the install code the hub derives
the join link key from.  They are written to ``<data>/zigbee/credentials.json`` with
owner-only permissions (directory 0700, file 0600), checked before they are stored, and
never shown: :func:`describe_credentials` gives only the public facts.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webapp.files import write_private
from webapp.zigbee.cbke.certificate import CertificateError
from webapp.zigbee.cbke.credentials import Credentials
from webapp.zigbee.cbke.installcode import InstallCodeError, check_install_code

log = logging.getLogger(__name__)

CREDENTIALS_DIR = "zigbee"
CREDENTIALS_FILE = "credentials.json"
DIR_MODE = 0o700


class ProvisioningError(ValueError):
    """Credentials that cannot be used; the message names the problem."""


@dataclass(frozen=True)
class Provisioned:
    credentials: Credentials
    install_code: bytes  # with its CRC


def credentials_path(data_dir: Path) -> Path:
    return Path(data_dir) / CREDENTIALS_DIR / CREDENTIALS_FILE


def _hex(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise ProvisioningError(f"{name} must be a hex string")
    try:
        return bytes.fromhex(value.replace(" ", "").replace(":", ""))
    except ValueError:
        raise ProvisioningError(f"{name} is not hex") from None


def parse_provisioned(
    certificate: str, private_key: str, ca_public_key: str, install_code: str
) -> Provisioned:
    """Check the four parts belong together; ProvisioningError names what is wrong."""
    cert = _hex(certificate, "certificate")
    if not isinstance(private_key, str):
        raise ProvisioningError("private key must be a hex string")
    try:
        key = int(private_key.replace(" ", "").replace(":", ""), 16)
    except ValueError:
        raise ProvisioningError("private key is not hex") from None
    ca = _hex(ca_public_key, "CA public key")
    code = _hex(install_code, "install code")
    try:
        credentials = Credentials(cert, key, ca)
    except (CertificateError, ValueError) as exc:
        raise ProvisioningError(f"credentials rejected: {exc}") from exc
    curve = credentials.suite.curve
    public = credentials.parsed.public_key(credentials.ca_point)
    if curve.mul(credentials.private_key, curve.g) != public:
        raise ProvisioningError("the private key does not belong to the certificate")
    try:
        check_install_code(code)
    except InstallCodeError as exc:
        raise ProvisioningError(f"install code rejected: {exc}") from exc
    return Provisioned(credentials, code)


def save_credentials(data_dir: Path, provisioned: Provisioned) -> Path:
    """Write the credentials with owner-only permissions; the path written."""
    path = credentials_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, DIR_MODE)
    c = provisioned.credentials
    body = {
        "certificate": c.certificate.hex().upper(),
        "private_key": f"{c.private_key:X}",
        "ca_public_key": c.ca_public_key.hex().upper(),
        "install_code": provisioned.install_code.hex().upper(),
    }
    write_private(path, json.dumps(body).encode())
    log.info("Zigbee credentials for %s stored", c.ieee)
    return path


def load_credentials(data_dir: Path) -> Provisioned | None:
    """The stored credentials, None when there are none; ProvisioningError if unusable."""
    path = credentials_path(data_dir)
    if not path.exists():
        return None
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ProvisioningError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ProvisioningError(f"{path} does not read as JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ProvisioningError(f"{path} holds no credentials object")
    missing = {"certificate", "private_key", "ca_public_key", "install_code"} - set(body)
    if missing:
        raise ProvisioningError(f"{path} lacks {', '.join(sorted(missing))}")
    return parse_provisioned(
        body["certificate"], body["private_key"], body["ca_public_key"], body["install_code"]
    )


def describe_credentials(provisioned: Provisioned) -> dict[str, Any]:
    """Public facts only: never the private key or the install code."""
    cert = provisioned.credentials.parsed
    return {
        "subject": str(cert.subject),
        "issuer": cert.issuer.hex().upper(),
        "valid_from": cert.valid_from,
        "valid_to": cert.valid_to,
        "install_code_length": len(provisioned.install_code) - 2,
    }
