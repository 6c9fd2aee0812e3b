"""A generic ASN.1 DER reader: a tree of (tag, offset, length, content) nodes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .errors import GbcsError
from .reader import Reader

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


@dataclass(slots=True, init=False)
class Asn1Node:
    tag_class: int
    constructed: bool
    tag_number: int
    offset: int
    header_length: int
    content: bytes
    children: list[Asn1Node]

    # written out rather than generated, so that a compiled build compiles it too
    def __init__(
        self,
        tag_class: int,
        constructed: bool,
        tag_number: int,
        offset: int,
        header_length: int,
        content: bytes,
        children: list[Asn1Node] | None = None,
    ) -> None:
        self.tag_class = tag_class
        self.constructed = constructed
        self.tag_number = tag_number
        self.offset = offset
        self.header_length = header_length
        self.content = content
        self.children = [] if children is None else children

    @property
    def length(self) -> int:
        return self.header_length + len(self.content)

    @property
    def content_offset(self) -> int:
        return self.offset + self.header_length

    @property
    def identifier(self) -> int:
        """The identifier octet, with 0x1F for tag numbers in the high-tag-number form."""
        number = self.tag_number if self.tag_number < 0x1F else 0x1F
        return (self.tag_class << 6) | (0x20 if self.constructed else 0) | number

    @property
    def type_name(self) -> str:
        return type_name(self.tag_class, self.tag_number)

    def is_universal(self, number: int) -> bool:
        return self.tag_class == 0 and self.tag_number == number

    def is_context(self, number: int) -> bool:
        return self.tag_class == 2 and self.tag_number == number

    def integer(self) -> int | None:
        """The value of an INTEGER or ENUMERATED (or implicitly tagged integer) node."""
        if self.constructed or not self.content or len(self.content) > 32:
            return None
        return int.from_bytes(self.content, "big", signed=True)


def type_name(tag_class: int, tag_number: int) -> str:
    if tag_class == 0:
        return UNIVERSAL_NAMES.get(tag_number) or f"UNIVERSAL {tag_number}"
    if tag_class == 2:
        return f"[{tag_number}]"
    return f"{CLASS_NAMES[tag_class].upper()} {tag_number}"


def parse_der(data: bytes, offset: int = 0, end: int | None = None) -> Asn1Node:
    """Parse exactly one DER element filling ``data[offset:end]``."""
    data, end = _checked(data, offset, end)
    node, pos = _read(data, offset, end, 0)
    if pos != end:
        raise GbcsError(pos, "end of ASN.1 content", f"{end - pos} more byte(s)")
    return node


def _checked(data: bytes, offset: int, end: int | None) -> tuple[bytes, int]:
    if type(data) is not bytes:
        data = bytes(data)
    if end is None:
        end = len(data)
    if not 0 <= offset <= end <= len(data):
        raise GbcsError(offset, "a range inside the input")
    return data, end


def _read(data: bytes, pos: int, end: int, depth: int) -> tuple[Asn1Node, int]:
    """The element at ``pos`` (which must end by ``end``) and the position after it."""
    if depth > MAX_DEPTH:
        raise GbcsError(pos, "ASN.1 nested less deeply")
    if end - pos >= 2 and data[pos] & 0x1F != 0x1F and data[pos + 1] < 0x80:
        identifier = data[pos]
        number = identifier & 0x1F
        body = pos + 2
        stop = body + data[pos + 1]
    else:
        identifier, number, body, stop = _long_header(data, pos, end)
    if stop > end:
        Reader(data, body, end).need(stop - body, "ASN.1 content")
    constructed = bool(identifier & 0x20)
    children: list[Asn1Node] = []
    if constructed:
        child_pos = body
        depth += 1
        while child_pos < stop:
            child, child_pos = _read(data, child_pos, stop, depth)
            children.append(child)
    node = Asn1Node(
        identifier >> 6, constructed, number, pos, body - pos, data[body:stop], children
    )
    return node, stop


def _long_header(data: bytes, pos: int, end: int) -> tuple[int, int, int, int]:
    """An identifier in the high-tag-number form or a length in the long form: (identifier
    octet, tag number, content position, content end)."""
    reader = Reader(data, pos, end)
    identifier = reader.u8("ASN.1 identifier")
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
    return identifier, number, reader.pos, reader.pos + length


@lru_cache(maxsize=256)
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
