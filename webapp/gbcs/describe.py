"""A JSON-able description of a GBCS message for people: header, payload tree, outcome.

Sensitive content is never shown: encrypted GBZ components and DLMS protected attributes
(which an HHT cannot decrypt anyway), prepayment top-up codes (UTRNs) and top-up values are
listed under ``withheld`` with their position and size instead. Offsets in the tree index the
raw message bytes (for GBT input: the reassembled message).
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from .alerts import alert_code_of
from .asn1 import parse_der
from .asn1_view import Labelled, asn1_tree, certificate_node, generic_node
from .dlms import DlmsApdu
from .dlms_view import dlms_tree
from .errors import GbcsError
from .gbz import GbzPayload
from .gbz_view import gbz_tree
from .header import Cra
from .message import SECURITY_HEADER_LENGTH, Message, parse_message
from .outcome import response_outcome
from .payload import payload_encoding
from .reader import Reader
from .signing import CertificateStore, SignatureState, verify_message
from .tree import Node, ViewContext, hex_text, node
from .usecases import alert_name, message_code_name, use_case_for

MAC_PRESENT = "present-not-verifiable"
MAC_ABSENT = "absent"
ENCRYPTED = "encrypted, withheld"
_HEX_SEPARATORS = re.compile(r"[\s:,-]|0x", re.IGNORECASE)
_MAX_PATH_LENGTH = 4096
FIRST_OCTETS = (0xDD, 0xDF)
_EMPTY_FIELDS = "transaction id, originator, recipient, date-time, other-information, key-info"
_CRA_NAMES = {cra: cra.name.title() for cra in Cra}
_CRA_TEXTS = {cra: f"{int(cra)} {cra.name.title()}" for cra in Cra}
_STATE_TEXTS = {state: state.value for state in SignatureState}


def describe(data: bytes, store: CertificateStore | None = None) -> dict[str, Any]:
    """Describe one message. Raises :class:`GbcsError` only when its envelope is malformed;
    a payload that cannot be decoded is described as such."""
    message = parse_message(data)
    header = message.header
    cra = header.cra
    code_hex, code_text, message_name, use_case, use_case_name = _code_texts(header.message_code)
    date_time = header.date_time.isoformat() if header.date_time is not None else None
    state = verify_message(message, store)
    ctx = ViewContext()
    tree: list[Node] = []
    if message.mac is not None:
        tree.append(_mac_header_node(message))
    tree.append(_grouping_header_node(message, code_text, date_time))
    payload_node, encoding, parsed = _payload_node(message, ctx)
    tree.append(payload_node)
    tree.append(_signature_node(message, state))
    if message.mac is not None and message.mac_offset is not None:
        tree.append(node("MAC", "present, not verifiable here", message.mac_offset, 12))

    outcome = None
    alert = alert_code_of(message)
    if cra is Cra.RESPONSE or cra is Cra.ALERT:
        outcome = response_outcome(message, parsed, alert).as_dict()
    return {
        "kind": message.kind,
        "message_code": code_hex,
        "message_name": message_name,
        "use_case": use_case,
        "use_case_name": use_case_name,
        "originator": message.originator_hex,
        "recipient": message.recipient_hex,
        "counter": header.counter,
        "date_time": date_time,
        "signature": _STATE_TEXTS[state],
        "mac": MAC_PRESENT if message.mac is not None else MAC_ABSENT,
        "payload_kind": "alert" if cra is Cra.ALERT else encoding,
        "payload_encoding": encoding,
        "alert_code": f"0x{alert:04X}" if alert is not None else None,
        "alert_name": alert_name(alert) if alert is not None else None,
        "encrypted": ctx.encrypted,
        "withheld": ctx.withheld,
        "outcome": outcome,
        "gbt": message.reassembled_from_gbt,
        "length": len(message.raw),
        "tree": tree,
    }


@lru_cache(maxsize=1024)
def _code_texts(code: int) -> tuple[str, str, str | None, str | None, str | None]:
    """(code in hex, code with its name, the name, use case id, use case name) of a code."""
    name = message_code_name(code)
    use_case = use_case_for(code)
    return (
        f"0x{code:04X}",
        f"0x{code:04X} {name}" if name else f"0x{code:04X}",
        name,
        use_case[0] if use_case else None,
        use_case[1] if use_case else None,
    )


def _mac_header_node(message: Message) -> Node:
    start = message.general_signing_offset - SECURITY_HEADER_LENGTH
    length = len(message.raw) - start
    security = (
        f"control 0x{message.security_control or 0:02X}, "
        f"invocation counter {message.invocation_counter}"
    )
    children = [
        node("General-Ciphering Tag", "0xDD", 0, 1),
        node("Empty Fields", _EMPTY_FIELDS, 1, 6),
        node("Ciphered Content Length", str(length), 7, start - 7),
        node("Security Header", security, start, SECURITY_HEADER_LENGTH),
    ]
    return node("MAC Header", "General-Ciphering", 0, message.general_signing_offset, children)


def _grouping_header_node(message: Message, code_text: str, date_time: str | None) -> Node:
    raw = message.raw
    header = message.header
    start = message.general_signing_offset
    cra = header.cra
    cra_name = _CRA_NAMES[cra]
    counter = str(header.counter)
    transaction = node(
        "Transaction Id",
        f"{cra_name} {counter}",
        start + 1,
        10,
        [
            node("CRA Flag", _CRA_TEXTS[cra], start + 2, 1),
            node("Originator Counter", counter, start + 3, 8),
        ],
    )
    children = [
        node("General-Signing Tag", "0xDF", start, 1),
        transaction,
        node("Originator", message.originator_hex, start + 11, 9),
        node("Recipient", message.recipient_hex, start + 20, 9),
    ]
    cursor = start + 29
    if date_time is None:
        children.append(node("Date Time", "absent", cursor, 1))
        cursor += 1
    else:
        children.append(node("Date Time", date_time, cursor, 13))
        cursor += 13
    first = raw[cursor]
    if first < 0x80:
        body, length = cursor + 1, first
    else:
        reader = Reader(raw, cursor)
        length = reader.ber_length("other-information")
        body = reader.pos
    other_children = [node("Message Code", code_text, body, 2)]
    info = header.other_info
    if info.supplementary_remote_party_id is not None:
        party = hex_text(info.supplementary_remote_party_id)
        other_children.append(node("Supplementary Remote Party Id", party, body + 2, 8))
    if info.supplementary_counter is not None:
        other_children.append(
            node(
                "Supplementary Remote Party Counter", str(info.supplementary_counter), body + 10, 8
            )
        )
    if info.supplementary_originator_counter is not None:
        other_children.append(
            node(
                "Supplementary Originator Counter",
                str(info.supplementary_originator_counter),
                body + 18,
                8,
            )
        )
    if info.certificate is not None:
        other_children.append(_certificate(raw, body + 18, body + length))
    content_start = body + length
    children.append(
        node("Other Information", code_text, cursor, body - cursor + length, other_children)
    )
    children.append(
        node(
            "Content Length",
            str(len(message.payload)),
            content_start,
            message.payload_offset - content_start,
        )
    )
    return node(
        "Grouping Header", "General-Signing", start, message.payload_offset - start, children
    )


def _certificate(raw: bytes, start: int, end: int) -> Node:
    title = "Supplementary Remote Party Key Agreement Certificate"
    try:
        return certificate_node(parse_der(raw, start, end), title)
    except GbcsError as exc:
        return node(title, f"not decoded ({exc})", start, end - start)


def _payload_node(
    message: Message, ctx: ViewContext
) -> tuple[Node, str, GbzPayload | DlmsApdu | Labelled | None]:
    """The payload's node, its encoding, and what its view decoded (None if nothing)."""
    raw = message.raw
    start = message.payload_offset
    end = start + len(message.payload)
    encoding = payload_encoding(message)
    value = encoding.upper() if encoding != "unknown" else "unknown format"
    header = message.header
    parsed: GbzPayload | DlmsApdu | Labelled | None = None
    try:
        if encoding == "gbz":
            children, parsed = gbz_tree(raw, start, end, ctx, alert=header.cra is Cra.ALERT)
        elif encoding == "dlms":
            children, parsed = dlms_tree(raw, start, end, ctx)
        elif encoding == "asn1":
            children, parsed = asn1_tree(raw, start, end, header.message_code, header.cra, ctx)
        else:
            children = _undecoded(raw, start, end)
    except GbcsError as exc:
        value = f"{value}, not decoded ({exc})"
        children = []
        ctx.withheld.clear()
        ctx.encrypted = False
        if encoding == "asn1":
            children = _generic_asn1(raw, start, end)
    return node("Payload", value, start, end - start, children), encoding, parsed


def _undecoded(raw: bytes, start: int, end: int) -> list[Node]:
    return _generic_asn1(raw, start, end)


def _generic_asn1(raw: bytes, start: int, end: int) -> list[Node]:
    try:
        return [generic_node(parse_der(raw, start, end))]
    except GbcsError:
        return []


def _signature_node(message: Message, state: SignatureState) -> Node:
    signature = message.signature
    offset = message.signature_offset
    if offset is None:
        end = message.payload_offset + len(message.payload)
        return node("Signature", "no signature field (pre-command)", end, 0)
    if signature is None:
        return node("Signature", "absent", offset, 1)
    size = len(signature)
    children = [
        node("Signature Length", str(size), offset, 1),
        node("r||s", hex_text(signature), offset + 1, size),
    ]
    return node("Signature", state.value, offset, 1 + size, children)


def render_text(described: dict[str, Any]) -> str:
    """A readable multi-line rendering of :func:`describe`'s result."""
    d = described
    use_case = " ".join(x for x in (d.get("use_case"), d.get("use_case_name")) if x) or (
        d.get("message_name") or "unknown use case"
    )
    lines = [
        f"{d['kind'].title()} {d['message_code']} {use_case}",
        f"  from {d['originator']} to {d['recipient']}, counter {d['counter']}",
        f"  date-time {d['date_time'] or 'absent'}",
        f"  signature {d['signature']}, MAC {d['mac']}",
        f"  payload {d['payload_kind']}"
        + (f" ({d['payload_encoding']})" if d["payload_kind"] != d["payload_encoding"] else "")
        + (", encrypted content" if d["encrypted"] else ""),
    ]
    if d.get("alert_code"):
        lines.append(f"  alert {d['alert_code']} {d.get('alert_name') or ''}".rstrip())
    if d.get("outcome"):
        outcome = d["outcome"]
        lines.append(
            f"  outcome {outcome['status']}"
            + (f": {outcome['reason']}" if outcome["reason"] else "")
        )
    for item in d.get("withheld", []):
        lines.append(f"  withheld {item['name']} ({item['length']} bytes at {item['offset']})")
    lines.append("")
    for item in d["tree"]:
        _render_node(item, 0, lines)
    return "\n".join(lines) + "\n"


def _render_node(node: dict[str, Any], depth: int, lines: list[str]) -> None:
    text = "  " * depth + node["name"]
    if node["value"] is not None:
        text += f": {node['value']}"
    text += f"  [{node['offset']}+{node['length']}]"
    lines.append(text)
    for child in node["children"]:
        _render_node(child, depth + 1, lines)


def parse_input(text_or_path: str | bytes | Path) -> bytes:
    """Message bytes from a file (binary, hex or base64) or from hex/base64 text."""
    if isinstance(text_or_path, Path):
        return _from_file(text_or_path)
    if isinstance(text_or_path, bytes | bytearray):
        data = bytes(text_or_path)
        if data[:1] and data[0] in FIRST_OCTETS:
            return data
        return _from_text(data.decode("ascii", errors="replace"))
    text = text_or_path
    if 0 < len(text) < _MAX_PATH_LENGTH and "\n" not in text:
        try:
            path = Path(text).expanduser()
            if path.is_file():
                return _from_file(path)
        except OSError:
            pass
    return _from_text(text)


def _from_file(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:1] and data[0] in FIRST_OCTETS:
        return data
    return _from_text(data.decode("ascii", errors="replace"))


def _from_text(text: str) -> bytes:
    compact = _HEX_SEPARATORS.sub("", text.strip())
    if compact and len(compact) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in compact):
        return bytes.fromhex(compact)
    squeezed = "".join(text.split())
    try:
        data = base64.b64decode(squeezed, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise GbcsError(0, "hex or base64 text of a GBCS message") from exc
    if not data:
        raise GbcsError(0, "hex or base64 text of a GBCS message", "nothing")
    return data
