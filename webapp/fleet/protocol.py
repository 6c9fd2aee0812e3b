"""What an HHT and the fleet office say to each other: paths, formats, signatures and caps.

Every request an HHT makes is a POST of one JSON object naming the HHT (``hht``), signed with
the terminal's identity key (ECDSA P-256, SHA-256; base64 of DER in the
``X-HHT-Signature`` header, as ``manifest.sig`` in an unload).  The fleet verifies it with
the certificate it enrolled for that HHT, so it knows who sent a batch whatever carried it.
Requests other than batches also carry a challenge the fleet handed out moments before
(``hello``): a recorded request cannot be played again later.  A batch needs none: it is
idempotent on (HHT, sequence), so playing it again changes nothing.

Both sides import this module; it imports nothing of either.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from webapp.workpack.jsonlimits import loads_bounded
from webapp.workpack.trust import sign_detached, verify_detached

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

API = "/api/fleet/v1"
HELLO = f"{API}/hello"
STATE = f"{API}/state"
BATCH = f"{API}/batch"
PACK = f"{API}/pack"
ACK = f"{API}/ack"

BATCH_FORMAT = "hht-fleet-batch/1"
SIGNATURE_HEADER = "X-HHT-Signature"
TERMINAL_HEADER = "X-HHT-Terminal"

#: Caps on what the fleet accepts (a batch is untrusted input until its signature checks,
#: and bounded after).
MAX_REQUEST_BYTES = 8 * 1024 * 1024
MAX_JSON_DEPTH = 12
MAX_EVENTS_PER_BATCH = 2000
MAX_JOBS_PER_BATCH = 100
MAX_LOOSE_PER_BATCH = 500
MAX_REGISTER_ROWS = 20000
MAX_SIGNATURE_CHARS = 200
#: What a client puts in one batch (well under the caps).
EVENTS_PER_BATCH = 500
JOBS_PER_BATCH = 25
LOOSE_PER_BATCH = 200
#: A challenge is good for this long (the fleet's clock: an HHT's may be hours off).
CHALLENGE_SECONDS = 300.0
MAX_PACK_BYTES = 20 * 1024 * 1024


class ProtocolError(ValueError):
    """A request that does not read as one of the protocol's, with the reason."""


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def decode(data: bytes) -> dict[str, Any]:
    """A request body: one JSON object, nested at most ``MAX_JSON_DEPTH`` deep."""
    if len(data) > MAX_REQUEST_BYTES:
        raise ProtocolError(f"the request is over {MAX_REQUEST_BYTES} bytes")
    try:
        body = loads_bounded(data, MAX_JSON_DEPTH)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"the request is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ProtocolError("the request is not a JSON object")
    return body


def sign(body: bytes, key: ec.EllipticCurvePrivateKey) -> str:
    """Base64 of the DER ECDSA-SHA256 signature over ``body``, as a work pack's manifest
    is signed (:func:`webapp.workpack.trust.sign_detached`), for a header."""
    return sign_detached(body, key).decode().strip()


def verify(body: bytes, signature: str, certificate: x509.Certificate) -> bool:
    """Whether ``signature`` (as :func:`sign` writes it) is ``certificate``'s over ``body``."""
    if not signature or len(signature) > MAX_SIGNATURE_CHARS:
        return False
    return verify_detached(body, signature.encode(), certificate) is None


def b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(bytes(data)).decode()


def unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise ProtocolError(f"{what} is not base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ProtocolError(f"{what} is not base64") from None


def loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine (plain HTTP is accepted only there)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
