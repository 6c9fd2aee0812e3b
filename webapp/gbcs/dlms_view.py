"""Description tree of a DLMS COSEM payload, with protected attributes and tokens withheld."""

from __future__ import annotations

import logging

from .cosem_names import TOKEN_GATEWAY, class_name, instance_name, member_name
from .datetimes import format_dlms_datetime
from .dlms import (
    ACCESS_REQUEST,
    ACCESS_RESPONSE,
    DlmsApdu,
    DlmsData,
    RequestSpec,
    ResponseSpec,
    format_obis,
    parse_dlms,
)
from .tree import Node, ViewContext, hex_text, printable
from .usecases import alert_name

log = logging.getLogger(__name__)

OCTET_STRING = 9
LONG_UNSIGNED = 18
STRUCTURE = 2
ARRAY = 1
ENUM = 22
SECURITY_HEADER_AND_MAC = 17
DATE_TIME_NOW = bytes(9) + b"\x80\x00\xff"
DATE_TIME_NEVER = b"\xff" * 9 + b"\x80\x00\xff"


def dlms_tree(raw: bytes, start: int, end: int, ctx: ViewContext) -> tuple[list[Node], DlmsApdu]:
    apdu = parse_dlms(raw, start, end)
    node = Node(apdu.name, None, start, end - start)
    node.add(Node("Tag", f"0x{apdu.tag:02X}", start, 1))
    node.add(Node("Long Invoke Id and Priority", f"0x{apdu.invoke_id:08X}", start + 1, 4))
    date_length = raw[start + 5]
    date_text = format_dlms_datetime(apdu.date_time) if apdu.date_time else "absent"
    node.add(Node("Date Time", date_text, start + 5, 1 + date_length))
    if apdu.tag == ACCESS_REQUEST:
        specs = node.add(_list_node("Access Request Specifications", apdu.requests, start))
        specs.children = [_request_node(i, spec) for i, spec in enumerate(apdu.requests)]
        data = node.add(_list_node("List of Data", apdu.data, start))
        for index, value in enumerate(apdu.data):
            spec = apdu.requests[index] if index < len(apdu.requests) else None
            label = f"[{index}] data for {_spec_label(spec)}" if spec else f"[{index}]"
            if spec is not None and _is_token(spec):
                data.add(_withhold_token(label, value, ctx))
            else:
                data.add(data_node(label, value, ctx))
    elif apdu.tag == ACCESS_RESPONSE:
        if apdu.requests:
            specs = node.add(_list_node("Access Request Specifications", apdu.requests, start))
            specs.children = [_request_node(i, spec) for i, spec in enumerate(apdu.requests)]
        data = node.add(_list_node("List of Data", apdu.data, start))
        data.children = [data_node(f"[{i}]", value, ctx) for i, value in enumerate(apdu.data)]
        results = node.add(_list_node("Access Response Specifications", apdu.results, start))
        results.children = [_result_node(i, result) for i, result in enumerate(apdu.results)]
    elif apdu.body is not None:
        node.add(_notification_body(apdu.body, ctx))
    return [node], apdu


def _list_node(name: str, items: list, fallback: int) -> Node:
    offsets = [getattr(item, "offset", 0) for item in items]
    if not offsets:
        return Node(name, "empty", fallback, 0)
    first = min(offsets)
    last_item = items[-1]
    end = last_item.offset + getattr(last_item, "length", 0)
    if isinstance(last_item, RequestSpec):
        end = _request_end(last_item)
    elif isinstance(last_item, ResponseSpec):
        end = last_item.offset + 2
    return Node(name, f"{len(items)} item(s)", first, max(end - first, 0))


def _request_end(spec: RequestSpec) -> int:
    end = spec.target.offset + 9
    if spec.target.selection is not None:
        end = spec.target.selection.offset + spec.target.selection.length
    return end


def _target_label(spec: RequestSpec) -> str:
    target = spec.target
    obis = format_obis(target.instance)
    named = instance_name(target.class_id, obis)
    member = member_name(target.class_id, target.member_id, method=spec.is_method)
    where = f"{named} ({obis})" if named else obis
    return f"{class_name(target.class_id)} {where} {member}"


def _spec_label(spec: RequestSpec) -> str:
    return f"{spec.name} {_target_label(spec)}"


def _request_node(index: int, spec: RequestSpec) -> Node:
    target = spec.target
    node = Node(
        f"[{index}] {spec.name}", _target_label(spec), spec.offset, _request_end(spec) - spec.offset
    )
    obis = format_obis(target.instance)
    named = instance_name(target.class_id, obis)
    node.add(Node("Choice", spec.name, spec.offset, 1))
    node.add(Node("Class Id", f"{target.class_id} {class_name(target.class_id)}", target.offset, 2))
    node.add(Node("Instance Id", obis + (f" {named}" if named else ""), target.offset + 2, 6))
    label = "Method Id" if spec.is_method else "Attribute Id"
    member = member_name(target.class_id, target.member_id, method=spec.is_method)
    node.add(Node(label, f"{target.member_id} {member}", target.offset + 8, 1))
    if target.selector is not None:
        node.add(Node("Access Selector", str(target.selector), target.offset + 9, 1))
    if target.selection is not None:
        node.add(data_node("Access Parameters", target.selection, ViewContext()))
    return node


def _result_node(index: int, result: ResponseSpec) -> Node:
    node = Node(f"[{index}] {result.name}", result.result_name, result.offset, 2)
    node.add(Node("Choice", result.name, result.offset, 1))
    node.add(Node("Result", f"{result.result} {result.result_name}", result.offset + 1, 1))
    return node


def _is_token(spec: RequestSpec) -> bool:
    return spec.is_method and spec.target.class_id == TOKEN_GATEWAY


def _withhold_token(label: str, value: DlmsData, ctx: ViewContext) -> Node:
    return ctx.withhold(f"{label} (top-up token)", value.offset, value.length)


def _notification_body(body: DlmsData, ctx: ViewContext) -> Node:
    node = data_node("Notification Body", body, ctx)
    items = body.value if body.tag == STRUCTURE and isinstance(body.value, list) else []
    if items and items[0].tag == LONG_UNSIGNED:
        code = items[0].value
        name = alert_name(code)
        node.children[0] = Node(
            "Alert Code",
            f"0x{code:04X}" + (f" {name}" if name else ""),
            items[0].offset,
            items[0].length,
        )
    if len(items) > 1 and items[1].tag == OCTET_STRING and len(items[1].value) == 12:
        node.children[1] = Node(
            "Time Stamp", format_dlms_datetime(items[1].value), items[1].offset, items[1].length
        )
    return node


def is_protected(value: DlmsData) -> bool:
    """Protected attributes: structure{ array of protection parameters, ciphered octets }."""
    if value.tag != STRUCTURE or not isinstance(value.value, list) or len(value.value) != 2:
        return False
    parameters, ciphered = value.value
    return (
        parameters.tag in (ARRAY, STRUCTURE)
        and ciphered.tag == OCTET_STRING
        and isinstance(ciphered.value, bytes)
        and len(ciphered.value) >= SECURITY_HEADER_AND_MAC
    )


def data_node(label: str, value: DlmsData, ctx: ViewContext, depth: int = 0) -> Node:
    if is_protected(value):
        parameters, ciphered = value.value
        node = Node(f"{label} Protected Attributes", None, value.offset, value.length)
        node.add(data_node("Protection Parameters", parameters, ctx, depth + 1))
        node.add(
            ctx.withhold(
                "Protected Attributes (ciphered)",
                ciphered.offset,
                ciphered.length,
                why="encrypted, withheld",
            )
        )
        return node
    if isinstance(value.value, list):
        node = Node(
            f"{label} {value.type_name}",
            f"{len(value.value)} element(s)",
            value.offset,
            value.length,
        )
        node.children = [
            data_node(f"[{i}]", item, ctx, depth + 1) for i, item in enumerate(value.value)
        ]
        return node
    return Node(
        f"{label} {value.type_name}".strip(), format_data(value), value.offset, value.length
    )


def format_data(value: DlmsData) -> str:
    if value.tag in (0, 255):
        return "null" if value.tag == 0 else "don't care"
    if value.tag == 4 and isinstance(value.value, bytes):
        bits = "".join(f"{b:08b}" for b in value.value)
        return bits[: value.bit_length or 0]
    if value.tag == 25 and isinstance(value.value, bytes):
        return format_dlms_datetime(value.value)
    if isinstance(value.value, bytes):
        raw = value.value
        if raw == DATE_TIME_NOW:
            return "now"
        if raw == DATE_TIME_NEVER:
            return "never"
        if len(raw) == 12:
            return format_dlms_datetime(raw)
        if not raw:
            return "empty"
        text = printable(raw)
        return f'"{text}"' if text and len(raw) > 1 else hex_text(raw)
    return str(value.value)
