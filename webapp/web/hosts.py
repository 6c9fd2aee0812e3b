"""Only requests that name this terminal in their Host header are answered.

DNS rebinding: a page from ``evil.example`` has its name re-pointed at the terminal's
address, and the phone's browser then sends the page's requests to the HHT under the
page's own origin, with ``Host: evil.example``. Refusing every Host that is not one of
the terminal's names stops that before any route (or Socket.IO) runs.

Allowed: any IP address literal (an address cannot be rebound: a page showing one in
its Host was loaded from that address), ``localhost``, the machine's host name and its
mDNS name (``<host>.local``), the names in the data directory's TLS certificate, and
any listed in ``HHT_ALLOWED_HOSTS`` (comma-separated) or the app's ``HHT_ALLOWED_HOSTS``
setting.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

ALLOWED_HOSTS_ENV = "HHT_ALLOWED_HOSTS"
ALLOWED_HOSTS_SETTING = "HHT_ALLOWED_HOSTS"
LOOPBACK_NAME = "localhost"
MDNS_SUFFIX = ".local"
REFUSED_STATUS = "400 Bad Request"
REFUSED_BODY = b"This terminal does not answer to that name. Use its address.\n"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def device_names(extra: Iterable[str] = (), tls_cert: Path | None = None) -> frozenset[str]:
    """The names this terminal answers to (lower case, no trailing dot)."""
    host = socket.gethostname()
    names = [LOOPBACK_NAME, host, host + MDNS_SUFFIX, *extra]
    names += os.environ.get(ALLOWED_HOSTS_ENV, "").split(",")
    if tls_cert is not None:
        names += certificate_names(tls_cert)
    return frozenset(n for n in (_normal(name) for name in names) if n)


def host_allowed(host_header: str | None, names: frozenset[str]) -> bool:
    """Whether a request with this Host header is for this terminal (no Host: HTTP/1.0, not
    a browser, so not a rebinding)."""
    if not host_header:
        return True
    host = _without_port(host_header.strip())
    if _is_address(host):
        return True
    return _normal(host) in names


class HostGuard:
    """WSGI middleware: a 400 for a request whose Host is not one of ``names``."""

    def __init__(self, app: WsgiApp, names: frozenset[str]) -> None:
        self.app = app
        self.names = names

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        if host_allowed(host, self.names):
            return self.app(environ, start_response)
        log.warning("refused a request for host %r from %s", host[:100], environ.get("REMOTE_ADDR"))
        start_response(
            REFUSED_STATUS,
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(REFUSED_BODY))),
            ],
        )
        return [REFUSED_BODY]


def guard(app: Flask) -> None:
    """Put the Host check in front of everything ``app`` serves, Socket.IO included
    (call after Socket.IO has wrapped the app)."""
    from webapp.web.tls import tls_files

    data_dir = app.config.get("DATA_DIR")
    cert = tls_files(Path(data_dir)).server_cert if data_dir else None
    configured = app.config.get(ALLOWED_HOSTS_SETTING, ())
    names = device_names(configured, cert if cert is not None and cert.is_file() else None)
    app.wsgi_app = HostGuard(app.wsgi_app, names)  # type: ignore[method-assign]


def _without_port(host: str) -> str:
    if host.startswith("["):  # [v6] or [v6]:port
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _normal(name: str) -> str:
    return name.strip().lower().rstrip(".")


def certificate_names(cert: Path) -> list[str]:
    """The DNS names a certificate's subjectAltName carries (none if it cannot be read)."""
    from cryptography import x509

    try:
        certificate = x509.load_pem_x509_certificate(cert.read_bytes())
        alt = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (OSError, ValueError, x509.ExtensionNotFound):
        return []
    return [str(name) for name in alt.value.get_values_for_type(x509.DNSName)]
