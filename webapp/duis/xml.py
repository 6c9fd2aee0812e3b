"""Parsing untrusted DUIS XML safely, and the namespaces DUIS uses.

No DTDs, no entities (so no entity expansion and no external entities), no
network, a size limit, and syntax errors reported with their line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from webapp.duis.errors import DuisError

if TYPE_CHECKING:
    from lxml import etree

SR_NS = "http://www.dccinterface.co.uk/ServiceUserGateway"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
NSMAP = {"sr": SR_NS, "ds": DS_NS}
MAX_XML_BYTES = 1_000_000
SCHEMA_VERSION = "5.4"


def _parser() -> etree.XMLParser:
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def safe_parse(data: bytes) -> etree._Element:
    """The root element of ``data``, or DuisError saying why it is not acceptable XML."""
    from lxml import etree

    if not isinstance(data, bytes | bytearray):
        raise DuisError("DUIS XML: expected bytes")
    if len(data) > MAX_XML_BYTES:
        raise DuisError(f"DUIS XML: {len(data)} bytes; the limit is {MAX_XML_BYTES}")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise DuisError("DUIS XML: a DOCTYPE or entity declaration is not allowed")
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as exc:
        raise DuisError(f"DUIS XML: not well-formed ({exc.msg}, line {exc.lineno})") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise DuisError("DUIS XML: a DOCTYPE or entity declaration is not allowed")
    return root


def q(name: str, ns: str = SR_NS) -> str:
    """``{namespace}name``."""
    return f"{{{ns}}}{name}"


def only_child(parent: etree._Element, name: str, path: str, required: bool = True):
    """The one ``sr:name`` child of ``parent``; DuisError when missing (if required) or twice."""
    found = parent.findall(q(name))
    if len(found) > 1:
        raise DuisError(f"DUIS XML: {path}/sr:{name} appears {len(found)} times")
    if not found:
        if required:
            raise DuisError(f"DUIS XML: no {path}/sr:{name}")
        return None
    return found[0]


def child_text(parent: etree._Element, name: str, path: str, required: bool = True) -> str:
    element = only_child(parent, name, path, required)
    if element is None:
        return ""
    text = (element.text or "").strip()
    if required and not text:
        raise DuisError(f"DUIS XML: {path}/sr:{name} is empty")
    return text


def new_root(kind: str) -> etree._Element:
    from lxml import etree

    root = etree.Element(q(kind), nsmap=NSMAP)
    root.set("schemaVersion", SCHEMA_VERSION)
    return root


def add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    from lxml import etree

    element = etree.SubElement(parent, q(name))
    if text is not None:
        element.text = text
    return element


def serialise(root: etree._Element) -> bytes:
    from lxml import etree

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
