"""A generic ASN.1 DER reader: a tree of (tag, offset, length, content) nodes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .reader import Reader

log = logging.getLogger(__name__)

MAX_DEPTH = 32
UNIVERSAL_NAMES = {
    1: "BOOLEAN",
    2: "INTEGER",
    3: "BIT STRING",
    4: "OCTET STRING",
    5: "NULL",
    6: "OBJECT IDENTIFIER",
    10: "ENUMERATED",
    12: "UTF8String",
    16: "SEQUENCE",
    17: "SET",
    19: "PrintableString",
    22: "IA5String",
    23: "UTCTime",
    24: "GeneralizedTime",
}
CLASS_NAMES = ("universal", "application", "context", "private")


@dataclass(frozen=True)
class Asn1Node:
    tag_class: int
    constructed: bool
    tag_number: int
    offset: int
    header_length: int
    content: bytes
    children: list[Asn1Node] = field(default_factory=list)

    @property
    def length(self) -> int:
        return self.header_length + len(self.content)

    @property
    def content_offset(self) -> int:
        return self.offset + self.header_length

    @property
    def type_name(self) -> str:
        if self.tag_class == 0:
            return UNIVERSAL_NAMES.get(self.tag_number, f"UNIVERSAL {self.tag_number}")
        return (
            f"[{self.tag_number}]"
            if self.tag_class == 2
            else (f"{CLASS_NAMES[self.tag_class].upper()} {self.tag_number}")
        )

    def is_universal(self, number: int) -> bool:
        return self.tag_class == 0 and self.tag_number == number

    def is_context(self, number: int) -> bool:
        return self.tag_class == 2 and self.tag_number == number

    def integer(self) -> int | None:
        """The value of an INTEGER or ENUMERATED (or implicitly tagged integer) node."""
        if self.constructed or not self.content or len(self.content) > 32:
            return None
        return int.from_bytes(self.content, "big", signed=True)


def parse_der(data: bytes, offset: int = 0, end: int | None = None) -> Asn1Node:
    """Parse exactly one DER element filling ``data[offset:end]``."""
    reader = Reader(data, offset, end)
    node = read_node(reader, 0)
    if not reader.at_end:
        raise reader.fail("end of ASN.1 content", f"{reader.remaining} more byte(s)")
    return node


def parse_der_sequence(data: bytes, offset: int = 0, end: int | None = None) -> list[Asn1Node]:
    """Parse consecutive DER elements filling ``data[offset:end]``."""
    reader = Reader(data, offset, end)
    nodes = []
    while not reader.at_end:
        nodes.append(read_node(reader, 0))
    return nodes


def read_node(reader: Reader, depth: int) -> Asn1Node:
    if depth > MAX_DEPTH:
        raise reader.fail("ASN.1 nested less deeply")
    start = reader.pos
    identifier = reader.u8("ASN.1 identifier")
    tag_class = identifier >> 6
    constructed = bool(identifier & 0x20)
    number = identifier & 0x1F
    if number == 0x1F:
        number = 0
        for _ in range(4):
            octet = reader.u8("ASN.1 tag number")
            number = (number << 7) | (octet & 0x7F)
            if not octet & 0x80:
                break
        else:
            raise reader.fail("a tag number of at most 4 octets")
    length = reader.ber_length("ASN.1 content")
    header_length = reader.pos - start
    body = reader.sub(length, "ASN.1 content")
    content = bytes(reader.data[body.pos : body.end])
    children: list[Asn1Node] = []
    if constructed:
        while not body.at_end:
            children.append(read_node(body, depth + 1))
    return Asn1Node(tag_class, constructed, number, start, header_length, content, children)


def decode_oid(content: bytes) -> str | None:
    if not content or content[-1] & 0x80:
        return None
    arcs: list[int] = []
    value = 0
    for octet in content:
        value = (value << 7) | (octet & 0x7F)
        if not octet & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])
