"""XML digital signatures as DUIS uses them: enveloped, exclusive C14N, ECDSA-SHA256.

The ds:Signature goes last in the root (after sr:Body, where the schema puts it);
its SignatureValue is r||s (32 + 32 octets), as XML-DSig has it for ECDSA.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
from typing import TYPE_CHECKING

from webapp.duis.errors import DuisError
from webapp.duis.xml import DS_NS, q, safe_parse
from webapp.gbcs.signing import SIGNATURE_LENGTH, sign, verify

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from lxml import etree

C14N_EXCLUSIVE = "http://www.w3.org/2001/10/xml-exc-c14n#"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"


def _c14n(element: etree._Element) -> bytes:
    from lxml import etree

    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def _digest_without_signature(root: etree._Element) -> bytes:
    doc = copy.deepcopy(root)
    for sig in doc.findall(q("Signature", DS_NS)):
        doc.remove(sig)
    return hashlib.sha256(_c14n(doc)).digest()


def _ds(parent: etree._Element, name: str, text: str | None = None, **attrs: str):  # type: ignore[no-untyped-def]
    from lxml import etree

    element = etree.SubElement(parent, q(name, DS_NS), **attrs)
    if text is not None:
        element.text = text
    return element


def sign_enveloped(
    xml: bytes, private_key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate
) -> bytes:
    """``xml`` with an enveloped ds:Signature appended to its root."""
    from lxml import etree

    root = safe_parse(xml)
    if root.find(q("Signature", DS_NS)) is not None:
        raise DuisError("DUIS XML is signed already")
    digest = _digest_without_signature(root)
    signature = _ds(root, "Signature")
    info = _ds(signature, "SignedInfo")
    _ds(info, "CanonicalizationMethod", Algorithm=C14N_EXCLUSIVE)
    _ds(info, "SignatureMethod", Algorithm=ECDSA_SHA256)
    reference = _ds(info, "Reference", URI="")
    _ds(_ds(reference, "Transforms"), "Transform", Algorithm=ENVELOPED)
    _ds(reference, "DigestMethod", Algorithm=SHA256)
    _ds(reference, "DigestValue", base64.b64encode(digest).decode())
    raw = sign(private_key, _c14n(info))  # r||s, as XML-DSig has it for ECDSA
    _ds(signature, "SignatureValue", base64.b64encode(raw).decode())
    serial = _ds(_ds(_ds(signature, "KeyInfo"), "X509Data"), "X509IssuerSerial")
    _ds(serial, "X509IssuerName", certificate.issuer.rfc4514_string())
    _ds(serial, "X509SerialNumber", str(certificate.serial_number))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def verify_enveloped(xml: bytes, public_key: ec.EllipticCurvePublicKey) -> None:
    """Return if ``xml`` carries a good enveloped signature by ``public_key``; else DuisError."""
    root = safe_parse(xml)
    signatures = root.findall(q("Signature", DS_NS))
    if len(signatures) != 1:
        raise DuisError("DUIS XML has no ds:Signature" if not signatures else "two ds:Signature")
    signature = signatures[0]
    info = signature.find(q("SignedInfo", DS_NS))
    value = signature.findtext(q("SignatureValue", DS_NS))
    digest = (
        info.findtext(f"{q('Reference', DS_NS)}/{q('DigestValue', DS_NS)}")
        if info is not None
        else None
    )
    if info is None or not value or not digest:
        raise DuisError(
            "DUIS XML signature is incomplete (SignedInfo, DigestValue, SignatureValue)"
        )
    method = info.find(q("SignatureMethod", DS_NS))
    if method is None or method.get("Algorithm") != ECDSA_SHA256:
        raise DuisError("DUIS XML signature does not use ECDSA-SHA256")
    try:
        expected = base64.b64decode(digest, validate=True)
        raw = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise DuisError("DUIS XML signature values are not base64") from None
    if expected != _digest_without_signature(root):
        raise DuisError("DUIS XML signature digest does not match the document (altered)")
    if len(raw) != SIGNATURE_LENGTH:
        raise DuisError("DUIS XML SignatureValue is not 64 octets (r||s)")
    if not verify(public_key, _c14n(info), raw):
        raise DuisError("DUIS XML signature does not verify")
