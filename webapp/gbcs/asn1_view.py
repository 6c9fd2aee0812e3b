"""Description tree of an ASN.1 payload: named GBCS structures, else a generic DER tree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .asn1 import Asn1Node, decode_oid, parse_der, type_name
from .asn1_structures import Schema, schema_for
from .header import Cra
from .tree import Node, ViewContext, hex_text, printable
from .tree import node as tree_node
from .usecases import alert_name

SUCCESS = "success"
FAILURE = "failure"
UNKNOWN = "unknown"
_TEXT_TYPES = {12, 18, 19, 20, 22, 26, 30}
_TIME_TYPES = {23, 24}


@dataclass(init=False)
class Labelled:
    node: Node
    matched: bool
    results: list[tuple[str, int, str | None]]

    # written out rather than generated, so that a compiled build compiles it too
    def __init__(
        self,
        node: Node,
        matched: bool = True,
        results: list[tuple[str, int, str | None]] | None = None,
    ) -> None:
        self.node = node
        self.matched = matched
        self.results = [] if results is None else results


def asn1_tree(
    raw: bytes, start: int, end: int, message_code: int, cra: Cra, ctx: ViewContext
) -> tuple[list[Node], Labelled]:
    """Nodes for the DER payload in ``raw[start:end]``; raises GbcsError if it is not DER."""
    root = parse_der(raw, start, end)
    schema = schema_for(message_code, cra)
    if schema is None:
        labelled = Labelled(generic_node(root), matched=False)
    else:
        labelled = label(root, schema, ctx)
    return [labelled.node], labelled


def outcome_from(labelled: Labelled) -> tuple[str, str | None]:
    if not labelled.matched:
        return UNKNOWN, "payload structure not recognised"
    for name, value, value_name in labelled.results:
        if value != 0:
            return FAILURE, f"{name} {value}" + (f" {value_name}" if value_name else "")
    return SUCCESS, None


def identifier(node: Asn1Node) -> int:
    return node.identifier


def label(node: Asn1Node, schema: Schema, ctx: ViewContext, name: str | None = None) -> Labelled:
    title = name or schema.name
    if schema.kind == "choice":
        for option in schema.fields:
            if option.identifier is None or option.identifier == identifier(node):
                return label(node, option, ctx, name)
        return Labelled(generic_node(node, title), matched=False)
    if schema.identifier is not None and schema.identifier != identifier(node):
        return Labelled(generic_node(node, title), matched=False)
    if schema.kind == "seq":
        return _label_sequence(node, schema, ctx, title)
    if schema.kind == "seqof":
        result = Labelled(
            tree_node(title, f"{len(node.children)} item(s)", node.offset, node.length)
        )
        item = schema.fields[0]
        for index, child in enumerate(node.children):
            sub = label(child, item, ctx, f"[{index}] {item.name}")
            result.node["children"].append(sub.node)
            result.matched &= sub.matched
            result.results.extend(sub.results)
        return result
    if schema.kind == "cert":
        return Labelled(certificate_node(node, title))
    if schema.kind == "any":
        return Labelled(generic_node(node, title))
    if schema.sensitive:
        return Labelled(ctx.withhold(title, node.offset, node.length))
    return _label_leaf(node, schema, title)


def _label_sequence(node: Asn1Node, schema: Schema, ctx: ViewContext, title: str) -> Labelled:
    result = Labelled(tree_node(title, None, node.offset, node.length))
    children = list(node.children)
    for field_schema in schema.fields:
        if children and _fits(children[0], field_schema):
            sub = label(children.pop(0), field_schema, ctx)
            result.node["children"].append(sub.node)
            result.matched &= sub.matched
            result.results.extend(sub.results)
        elif not field_schema.optional:
            result.matched = False
    for extra in children:
        result.node["children"].append(generic_node(extra, f"Unexpected {extra.type_name}"))
        result.matched = False
    return result


def _fits(node: Asn1Node, schema: Schema) -> bool:
    if schema.kind == "choice":
        return any(_fits(node, option) for option in schema.fields)
    return schema.identifier is None or schema.identifier == identifier(node)


def _label_leaf(node: Asn1Node, schema: Schema, title: str) -> Labelled:
    result = Labelled(tree_node(title, _primitive_text(node), node.offset, node.length))
    if schema.kind in ("int", "enum", "alert"):
        value = node.integer()
        if value is None:
            result.matched = False
            return result
        value_name = schema.values.get(value) if schema.values else None
        if schema.kind == "alert":
            value_name = alert_name(value)
            result.node["value"] = f"0x{value:04X}" + (f" {value_name}" if value_name else "")
        else:
            result.node["value"] = str(value) + (f" {value_name}" if value_name else "")
        if schema.result:
            result.results.append((title, value, value_name))
    return result


def certificate_node(node: Asn1Node, title: str = "Certificate") -> Node:
    from cryptography import x509  # only when a message carries a certificate

    summary = None
    try:
        raw = _reassemble(node, bytes(node.content))
        certificate = x509.load_der_x509_certificate(raw)
        summary = (
            f"subject {certificate.subject.rfc4514_string() or '(empty)'}, "
            f"serial {certificate.serial_number:X}, "
            f"valid {_day(certificate.not_valid_before_utc)} to "
            f"{_day(certificate.not_valid_after_utc)}"
        )
    except (ValueError, TypeError):  # cryptography raises either on malformed names
        summary = "not a readable X.509 certificate"
    result = generic_node(node, title)
    result["value"] = summary
    return result


def _day(moment: datetime) -> str:
    """The date as %Y-%m-%d (whose year is not zero-padded below 1000)."""
    return moment.date().isoformat() if moment.year >= 1000 else f"{moment:%Y-%m-%d}"


def _reassemble(node: Asn1Node, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        length_octets = bytes([length])
    else:
        body = length.to_bytes((length.bit_length() + 7) // 8, "big")
        length_octets = bytes([0x80 | len(body)]) + body
    return bytes([identifier(node)]) + length_octets + content


def generic_node(node: Asn1Node, name: str | None = None) -> Node:
    if node.constructed:
        children = node.children
        return {
            "name": name or type_name(node.tag_class, node.tag_number),
            "value": f"{len(children)} element(s)",
            "offset": node.offset,
            "length": node.header_length + len(node.content),
            "children": [generic_node(child) for child in children],
        }
    return {
        "name": name or type_name(node.tag_class, node.tag_number),
        "value": _primitive_text(node),
        "offset": node.offset,
        "length": node.header_length + len(node.content),
        "children": [],
    }


def _primitive_text(node: Asn1Node) -> str:
    content = node.content
    if node.constructed:
        return f"{len(node.children)} element(s)"
    tag_class = node.tag_class
    if tag_class == 0:
        number = node.tag_number
        if number == 6:
            return decode_oid(content) or content.hex().upper()
        if number in _TEXT_TYPES or number in _TIME_TYPES:
            return content.decode("latin-1")
        if number in (2, 10):
            if content and len(content) <= 32:
                return str(int.from_bytes(content, "big", signed=True))
            return content.hex().upper()
        if number == 3:
            return hex_text(content[1:]) + (
                f" ({content[0]} unused bits)" if content[:1] != b"\x00" and content else ""
            )
        if number == 5:
            return "null"
        if number == 1:
            return "true" if any(content) else "false"
    elif tag_class == 2 and 0 < len(content) <= 8:
        return str(int.from_bytes(content, "big", signed=True))
    return printable(content) or content.hex().upper()
