"""The site survey (seed 3.6, the phone as the alternative WAN).

When no candidate device set matches what is on site, the installer downloads a
small signed file from the phone: the MPxN, the hub and meter ids found, the time
and who was there.  The back office answers with a work pack for those devices,
which the installer uploads from the phone.  The file is JSON::

    {"survey": {...}, "signature": "<base64 DER ECDSA-SHA256>", "certificate": "<PEM>"}

signed over the canonical JSON of ``survey`` (sorted keys, no spaces) by the
terminal's own key; ``hht survey verify FILE`` checks one.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlite_utils import Database

from webapp.identity import SigningIdentity
from webapp.store.clock import utc_now
from webapp.workpack.errors import WorkPackError

SURVEY_FORMAT = "hht-survey/1"
MAX_SURVEY_BYTES = 64 * 1024


def canonical(survey: dict[str, Any]) -> bytes:
    return json.dumps(survey, sort_keys=True, separators=(",", ":")).encode()


def survey_for(
    db: Database,
    job: dict[str, Any],
    installer: str,
    terminal: SigningIdentity,
    hub_id: str | None,
    meters: dict[str, str],
) -> dict[str, Any]:
    """What the terminal knows of the site of ``job``: last scan, hub, meters given."""
    last_scan = db.execute(
        "SELECT at, data FROM job_events WHERE job_id = ? AND kind = 'scan' ORDER BY id DESC "
        "LIMIT 1",
        [job["id"]],
    ).fetchone()
    heard = json.loads(last_scan[1] or "{}").get("hubs", []) if last_scan else []
    return {
        "format": SURVEY_FORMAT,
        "job_id": job["id"],
        "mpxn": job["mpxn"],
        "site": job["site"],
        "address": job["address"],
        "supplier": job["supplier_eui"],
        "hub_found": hub_id or job["connected_hub_id"] or None,
        "meters_found": meters,
        "networks_heard": heard,
        "scanned_at": last_scan[0] if last_scan else None,
        "candidate_hubs": job["candidate_hubs"],
        "installer": installer,
        "terminal": terminal.terminal_id,
        "made_at": utc_now(),
    }


def sign_survey(survey: dict[str, Any], terminal: SigningIdentity) -> bytes:
    signature = terminal.key.sign(canonical(survey), ec.ECDSA(hashes.SHA256()))
    doc = {
        "survey": survey,
        "signature": base64.b64encode(signature).decode(),
        "certificate": terminal.certificate_pem.decode(),
    }
    return json.dumps(doc, indent=1).encode()


def verify_survey(data: bytes, trusted_fingerprint: str | None = None) -> dict[str, Any]:
    """The survey in ``data`` if its signature verifies (and, when given, the terminal's
    certificate has ``trusted_fingerprint``); WorkPackError otherwise."""
    if len(data) > MAX_SURVEY_BYTES:
        raise WorkPackError([f"the survey file is over {MAX_SURVEY_BYTES} bytes"])
    try:
        doc = json.loads(data)
        survey, signature = doc["survey"], base64.b64decode(doc["signature"], validate=True)
        cert = x509.load_pem_x509_certificate(doc["certificate"].encode())
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise WorkPackError(["not a survey file (survey, signature, certificate)"]) from None
    if not isinstance(survey, dict) or survey.get("format") != SURVEY_FORMAT:
        raise WorkPackError([f"the survey's format is not {SURVEY_FORMAT}"])
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    if trusted_fingerprint and fingerprint != trusted_fingerprint.lower():
        raise WorkPackError(
            [f"signed by terminal certificate {fingerprint[:16]}, not the one trusted"]
        )
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise WorkPackError(["the survey's certificate is not an EC key"])
    try:
        key.verify(signature, canonical(survey), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise WorkPackError(["the survey's signature does not verify (altered)"]) from None
    return survey
