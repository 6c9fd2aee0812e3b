"""HTTPS on the local network: a small certificate authority and a server certificate.

Phones give a page the camera, an installable offline app and the screen wake lock
only on a secure origin.  ``hht tls init`` makes a local CA (kept in the data dir,
key owner-only) and a server certificate for the device's names and addresses;
``hht tls ca`` exports the CA certificate to install on the fleet's phones.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from webapp.files import write_private
from webapp.web.lan import LOOPBACK, lan_address

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

TLS_DIR = "tls"
CA_CERT = "ca.pem"
CA_KEY = "ca.key"
SERVER_CERT = "server.pem"
SERVER_KEY = "server.key"
CA_VALIDITY = dt.timedelta(days=3650)
# phones refuse longer-lived server certificates, even from a CA the user installed
SERVER_VALIDITY = dt.timedelta(days=397)
BACKDATE = dt.timedelta(hours=1)


@dataclass(frozen=True)
class TlsFiles:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / CA_CERT

    @property
    def ca_key(self) -> Path:
        return self.directory / CA_KEY

    @property
    def server_cert(self) -> Path:
        return self.directory / SERVER_CERT

    @property
    def server_key(self) -> Path:
        return self.directory / SERVER_KEY

    @property
    def configured(self) -> bool:
        return self.server_cert.is_file() and self.server_key.is_file()


def tls_files(data_dir: Path) -> TlsFiles:
    return TlsFiles(Path(data_dir) / TLS_DIR)


def local_names() -> tuple[list[str], list[str]]:
    """This machine's host names and IPv4 addresses (no packet is sent)."""
    host = socket.gethostname()
    names = [host, f"{host}.local", "localhost"]
    addresses = {LOOPBACK}
    try:
        for info in socket.getaddrinfo(host, None, socket.AF_INET):
            addresses.add(info[4][0])
    except OSError:
        pass
    addresses.add(lan_address())
    return names, sorted(addresses)


def _load_or_create_ca(
    files: TlsFiles, label: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from webapp.x509_certs import private_pem, self_signed_ca

    if files.ca_cert.is_file() and files.ca_key.is_file():
        key = serialization.load_pem_private_key(files.ca_key.read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key, x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HHT fleet"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"HHT local CA ({label})"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = self_signed_ca(key, name, now - BACKDATE, now + CA_VALIDITY)
    write_private(files.ca_key, private_pem(key))
    files.ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def init_tls(data_dir: Path, names: list[str], addresses: list[str]) -> TlsFiles:
    """Create (or keep) the CA and issue a fresh server certificate for ``names``/``addresses``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from webapp.x509_certs import private_pem

    files = tls_files(data_dir)
    files.directory.mkdir(parents=True, exist_ok=True)
    os.chmod(files.directory, 0o700)
    ips = [ipaddress.ip_address(a) for a in addresses]  # ValueError names a bad address
    ca_key, ca_cert = _load_or_create_ca(files, names[0] if names else "hht")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt_names += [x509.IPAddress(ip) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + SERVER_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_private(files.server_key, private_pem(key))
    files.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files
