"""Validating DUIS XML against the V5.4 schema in ../shared/duis (when it is there).

The schema imports an "MMC" schema for the ResponseAndAlert namespace that is not
shipped; a permissive stand-in declares the types it references, which none of the
requests the HHT writes use.
"""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from lxml import etree

SHARED_DUIS = Path(__file__).resolve().parents[2].parent / "shared" / "duis"
SCHEMA_FILE = "DUIS-Schema-V5.4.xsd"
MMC_FILE = "MMC Schema V5.4.xsd"
MMC_STUB = "mmc-stub.xsd"
RA_NS = "http://www.dccinterface.co.uk/ResponseAndAlert"

needs_schema = pytest.mark.skipif(
    not (SHARED_DUIS / SCHEMA_FILE).is_file(), reason="../shared/duis is absent"
)


def _stub(schema_text: str) -> str:
    names = sorted(set(re.findall(r'"ra:([A-Za-z0-9_]+)"', schema_text)))
    types = "".join(
        f'<xs:complexType name="{n}"><xs:sequence><xs:any processContents="lax" '
        'minOccurs="0" maxOccurs="unbounded" namespace="##any"/></xs:sequence>'
        '<xs:anyAttribute processContents="lax"/></xs:complexType>'
        for n in names
    )
    elements = "".join(f'<xs:element name="{n}" type="ra:{n}"/>' for n in names)
    return (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:ra="{RA_NS}" targetNamespace="{RA_NS}" elementFormDefault="qualified">'
        f"{types}{elements}</xs:schema>"
    )


@functools.cache
def load_schema() -> etree.XMLSchema:
    directory = Path(tempfile.mkdtemp(prefix="duis-schema-"))
    shutil.copy(SHARED_DUIS / "xmldsig-core-schema.xsd", directory / "xmldsig-core-schema.xsd")
    text = (SHARED_DUIS / SCHEMA_FILE).read_text()
    (directory / SCHEMA_FILE).write_text(text.replace(MMC_FILE, MMC_STUB))
    (directory / MMC_STUB).write_text(_stub(text))
    parser = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(directory / SCHEMA_FILE), parser))


def validate(xml: bytes) -> None:
    """Assert ``xml`` is valid DUIS V5.4, showing the schema's errors if not."""
    schema = load_schema()
    doc = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    ok = schema.validate(doc)
    assert ok, "\n".join(str(e) for e in schema.error_log)
