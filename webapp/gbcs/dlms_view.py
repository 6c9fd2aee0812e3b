"""Description tree of a DLMS COSEM payload, with protected attributes and tokens withheld.

The APDU is decoded and described in one pass: each A-XDR Data value becomes its node as it
is read. The grammar is that of :mod:`dlms`, and so are the errors: wherever the bytes do not
fit, the :class:`Reader`-based reader of :mod:`dlms` is run at that position to raise the
same :class:`GbcsError` a full :func:`parse_dlms` would.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, NoReturn

from .cosem_names import TOKEN_GATEWAY, class_name, instance_name, member_name
from .datetimes import format_dlms_datetime
from .dlms import (
    ACCESS_REQUEST,
    ACCESS_RESPONSE,
    ACTION_RESULTS,
    DATA_ACCESS_RESULTS,
    DATA_TYPE_NAMES,
    DLMS_TAGS,
    MAX_DEPTH,
    REQUEST_CHOICES,
    RESPONSE_CHOICES,
    DlmsApdu,
    ResponseSpec,
    format_obis,
)
from .dlms import (
    _read_request_spec as _reader_request_spec,
)
from .dlms import (
    _read_response_spec as _reader_response_spec,
)
from .dlms import (
    _read_type_description as _reader_type_description,
)
from .errors import GbcsError
from .reader import Reader
from .records import frozen
from .tree import Node, ViewContext
from .tree import node as _leaf
from .usecases import alert_name

OCTET_STRING = 9
LONG_UNSIGNED = 18
STRUCTURE = 2
ARRAY = 1
COMPACT_ARRAY = 19
SECURITY_HEADER_AND_MAC = 17
DATE_TIME_NOW = bytes(9) + b"\x80\x00\xff"
DATE_TIME_NEVER = b"\xff" * 9 + b"\x80\x00\xff"
_APDU_NAMES = {
    ACCESS_REQUEST: "Access-Request",
    ACCESS_RESPONSE: "Access-Response",
    0x0F: "Data-Notification",
}
_PRINTABLE = bytes(range(0x20, 0x7F))


class _Labels(dict[int, str]):
    """Element labels "[0]", "[1]" ...: the first few kept, others made when asked for."""

    def __missing__(self, index: int) -> str:
        return f"[{index}]"


_INDEX = _Labels((i, f"[{i}]") for i in range(256))

#: tag -> (octets, signed, what a short read names) of the integer types
_INTEGERS = {
    3: (1, False, "value"),
    5: (4, True, "double-long"),
    6: (4, False, "value"),
    13: (1, False, "value"),
    15: (1, True, "integer"),
    16: (2, True, "long"),
    17: (1, False, "value"),
    18: (2, False, "value"),
    20: (8, True, "long64"),
    21: (8, False, "value"),
    22: (1, False, "value"),
}
#: tag -> octets of the types kept as raw octets
_RAW = {23: 4, 24: 8, 25: 12, 26: 5, 27: 4}
#: tag -> its type name preceded by a space, for node names
_TYPE_SUFFIX = {tag: f" {name}" for tag, name in DATA_TYPE_NAMES.items()}

#: One decoded Data value: its node, the position after it, its tag, and its value (a
#: scalar; for a structure the (tag, value) of its first two elements; None for other lists).
Decoded = tuple[Node, int, int, Any]


def dlms_tree(raw: bytes, start: int, end: int, ctx: ViewContext) -> tuple[list[Node], DlmsApdu]:
    """Nodes for the DLMS APDU filling ``raw[start:end]``; raises GbcsError if it is malformed.

    The APDU returned carries the header fields and the results (what outcomes need); its
    specifications and Data values are described in the tree only.
    """
    if not 0 <= start <= end <= len(raw):
        raise GbcsError(start, "a range inside the input")
    if start >= end or raw[start] not in DLMS_TAGS:
        _raise_with(Reader.u8, raw, start, end, "DLMS APDU tag")
        raise GbcsError(start, "DLMS tag 0xD9, 0xDA or 0x0F", f"0x{raw[start]:02X}")
    tag = raw[start]
    pos = start + 5
    if pos > end:
        _raise_with(Reader.uint, raw, start + 1, end, 4, "long-invoke-id-and-priority")
    invoke_id = int.from_bytes(raw[start + 1 : pos], "big")
    size, pos = _length(raw, pos, end, "date-time")
    date_time = _take(raw, pos, end, size, "date-time") or None
    pos += size
    date_length = raw[start + 5]
    children: list[Node] = [
        _leaf("Tag", f"0x{tag:02X}", start, 1),
        _leaf("Long Invoke Id and Priority", f"0x{invoke_id:08X}", start + 1, 4),
        _leaf(
            "Date Time",
            format_dlms_datetime(date_time) if date_time else "absent",
            start + 5,
            1 + date_length,
        ),
    ]
    results: list[ResponseSpec] = []
    if tag == ACCESS_REQUEST:
        specs, labels, pos = _request_specs(raw, pos, end, start)
        children.append(specs)
        data, pos = _data_list(raw, pos, end, start, ctx, labels)
        children.append(data)
    elif tag == ACCESS_RESPONSE:
        if pos >= end:
            _raise_with(Reader.u8, raw, pos, end, "access-request-specification presence")
        pos += 1
        if raw[pos - 1]:
            specs, _, pos = _request_specs(raw, pos, end, start)
            if specs["children"]:
                children.append(specs)
        data, pos = _data_list(raw, pos, end, start, ctx, [])
        children.append(data)
        results_node, pos = _results(raw, pos, end, start, results)
        children.append(results_node)
    else:
        body, pos, body_tag, items = _data(raw, pos, end, "Notification Body", ctx, 0)
        if body_tag == STRUCTURE:
            _name_alert(body, items)
        children.append(body)
    if pos != end:
        raise GbcsError(pos, "end of DLMS APDU", f"{end - pos} more byte(s)")
    name = _APDU_NAMES[tag]
    apdu = frozen(
        DlmsApdu,
        {
            "tag": tag,
            "invoke_id": invoke_id,
            "date_time": date_time,
            "offset": start,
            "length": end - start,
            "requests": [],
            "data": [],
            "results": results,
            "body": None,
        },
    )
    return [_leaf(name, None, start, end - start, children)], apdu


def _raise_with(read: Callable[..., object], raw: bytes, pos: int, end: int, *args: Any) -> None:
    """Run the Reader-based ``read`` at ``pos``: where the fast path stopped, it raises the
    error a full parse raises. Returns only if ``read`` succeeds (the caller then raises)."""
    read(Reader(raw, pos, end), *args)


def _length(raw: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """A BER length at ``pos`` and the position after it."""
    if pos < end:
        first = raw[pos]
        if first < 0x80:
            return first, pos + 1
    reader = Reader(raw, pos, end)
    length = reader.ber_length(what)
    return length, reader.pos


def _count(raw: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """An element count, which cannot exceed the octets left."""
    count, pos = _length(raw, pos, end, what)
    if count > end - pos:
        raise GbcsError(pos - 1, f"at most {end - pos} {what}", str(count))
    return count, pos


def _take(raw: bytes, pos: int, end: int, size: int, what: str) -> bytes:
    if end - pos < size:
        _raise_with(Reader.take, raw, pos, end, size, what)
    return raw[pos : pos + size]


def _unreachable(pos: int, what: str) -> NoReturn:
    raise GbcsError(pos, what)


# --- access-request and access-response specifications ------------------------------------


@lru_cache(maxsize=1024)
def _target_texts(class_id: int, instance: bytes, member: int, method: bool) -> tuple[str, ...]:
    """(target label, class id text, instance id text, member id text) of a COSEM target."""
    obis = format_obis(instance)
    named = instance_name(class_id, obis)
    member_text = member_name(class_id, member, method=method)
    cls = class_name(class_id)
    where = f"{named} ({obis})" if named else obis
    return (
        f"{cls} {where} {member_text}",
        f"{class_id} {cls}",
        f"{obis} {named}" if named else obis,
        f"{member} {member_text}",
    )


def _request_specs(
    raw: bytes, pos: int, end: int, apdu_start: int
) -> tuple[Node, list[tuple[str, bool]], int]:
    """The specifications' list node, for each the label of its data and whether that data is
    a top-up token (a Token Gateway method's parameter), and the position after them."""
    count, pos = _count(raw, pos, end, "specifications")
    first = pos
    nodes: list[Node] = []
    labels: list[tuple[str, bool]] = []
    for index in range(count):
        spec_node, label, pos = _request_spec(raw, pos, end, index)
        nodes.append(spec_node)
        labels.append(label)
    if not nodes:
        return _leaf("Access Request Specifications", "empty", apdu_start, 0), labels, pos
    last = nodes[-1]
    length = last["offset"] + last["length"] - first
    specs = _leaf("Access Request Specifications", f"{count} item(s)", first, length, nodes)
    return specs, labels, pos


def _request_spec(raw: bytes, pos: int, end: int, index: int) -> tuple[Node, tuple[str, bool], int]:
    choice = raw[pos] if pos < end else 0
    if choice not in REQUEST_CHOICES or end - pos < 10:
        _raise_with(_reader_request_spec, raw, pos, end)
        _unreachable(pos, "an access-request-specification")
    method = choice == 3
    class_id = raw[pos + 1] << 8 | raw[pos + 2]
    instance = raw[pos + 3 : pos + 9]
    member = raw[pos + 9]
    if member > 0x7F:
        member -= 0x100
    label, class_text, instance_text, member_text = _target_texts(
        class_id, instance, member, method
    )
    name = REQUEST_CHOICES[choice]
    target = pos + 1
    children = [
        _leaf("Choice", name, pos, 1),
        _leaf("Class Id", class_text, target, 2),
        _leaf("Instance Id", instance_text, target + 2, 6),
        _leaf("Method Id" if method else "Attribute Id", member_text, target + 8, 1),
    ]
    after = pos + 10
    if choice in (4, 5):
        if after >= end:
            _raise_with(Reader.u8, raw, after, end, "access selector")
        children.append(_leaf("Access Selector", str(raw[after]), target + 9, 1))
        selection, after, _, _ = _data(raw, after + 1, end, "Access Parameters", ViewContext(), 0)
        children.append(selection)
    spec_node = _leaf(f"{_INDEX[index]} {name}", label, pos, after - pos, children)
    token = method and class_id == TOKEN_GATEWAY
    return spec_node, (f"data for {name} {label}", token), after


def _results(
    raw: bytes, pos: int, end: int, apdu_start: int, results: list[ResponseSpec]
) -> tuple[Node, int]:
    count, pos = _count(raw, pos, end, "results")
    first = pos
    nodes: list[Node] = []
    for index in range(count):
        choice = raw[pos] if pos < end else 0
        if choice not in RESPONSE_CHOICES or end - pos < 2:
            _raise_with(_reader_response_spec, raw, pos, end)
            _unreachable(pos, "an access-response-specification")
        result = raw[pos + 1]
        results.append(ResponseSpec(choice, result, pos))
        name = RESPONSE_CHOICES[choice]
        table = ACTION_RESULTS if choice == 3 else DATA_ACCESS_RESULTS
        result_name = table.get(result) or f"result {result}"
        children = [
            _leaf("Choice", name, pos, 1),
            _leaf("Result", f"{result} {result_name}", pos + 1, 1),
        ]
        nodes.append(_leaf(f"{_INDEX[index]} {name}", result_name, pos, 2, children))
        pos += 2
    name = "Access Response Specifications"
    if not nodes:
        return _leaf(name, "empty", apdu_start, 0), pos
    return _leaf(name, f"{count} item(s)", first, pos - first, nodes), pos


def _data_list(
    raw: bytes,
    pos: int,
    end: int,
    apdu_start: int,
    ctx: ViewContext,
    labels: list[tuple[str, bool]],
) -> tuple[Node, int]:
    """The list of Data; in an Access-Request each value is labelled by its specification."""
    count, pos = _count(raw, pos, end, "list of data")
    first = pos
    nodes: list[Node] = []
    known = len(labels)
    for index in range(count):
        label = _INDEX[index]
        if index < known:
            spec_label, token = labels[index]
            label = f"{label} {spec_label}"
            if token:
                start = pos
                _, pos, _, _ = _data(raw, pos, end, label, ViewContext(), 0)
                nodes.append(ctx.withhold(f"{label} (top-up token)", start, pos - start))
                continue
        value, pos, _, _ = _data(raw, pos, end, label, ctx, 0)
        nodes.append(value)
    if not nodes:
        return _leaf("List of Data", "empty", apdu_start, 0), pos
    return _leaf("List of Data", f"{count} item(s)", first, pos - first, nodes), pos


def _name_alert(body: Node, items: list[tuple[int, Any]]) -> None:
    """A Data-Notification body: its first element named as the alert code, the second (a
    date-time octet string) as the time stamp."""
    children = body["children"]
    if items and items[0][0] == LONG_UNSIGNED:
        code = items[0][1]
        first = children[0]
        name = alert_name(code)
        value = f"0x{code:04X}" + (f" {name}" if name else "")
        children[0] = _leaf("Alert Code", value, first["offset"], first["length"])
    if len(items) > 1 and items[1][0] == OCTET_STRING and len(items[1][1]) == 12:
        second = children[1]
        text = format_dlms_datetime(items[1][1])
        children[1] = _leaf("Time Stamp", text, second["offset"], second["length"])


# --- A-XDR Data ----------------------------------------------------------------------------


def _data(raw: bytes, pos: int, end: int, label: str, ctx: ViewContext, depth: int) -> Decoded:
    """Read one A-XDR Data value at ``pos`` and describe it under ``label``."""
    if depth > MAX_DEPTH:
        raise GbcsError(pos, "Data nested less deeply")
    if pos >= end:
        _raise_with(Reader.u8, raw, pos, end, "Data type tag")
    tag = raw[pos]
    p = pos + 1
    if tag == OCTET_STRING:
        if p < end and raw[p] < 0x80:
            q = p + 1 + raw[p]
            p += 1
        else:
            size, p = _length(raw, p, end, "octet-string")
            q = p + size
        if q > end:
            _raise_with(Reader.take, raw, p, end, q - p, "octet-string")
        octets = raw[p:q]
        node = {
            "name": label + " octet-string",
            "value": _octets_text(octets),
            "offset": pos,
            "length": q - pos,
            "children": [],
        }
        return node, q, tag, octets
    if tag in (STRUCTURE, ARRAY):
        count, p = _count(raw, p, end, "elements")
        if tag == STRUCTURE:
            return _structure(raw, pos, p, end, count, label, ctx, depth, None)
        return _array(raw, pos, p, end, count, label, ctx, depth, None)
    integer = _INTEGERS.get(tag)
    if integer is not None:
        size, signed, what = integer
        q = p + size
        if q > end:
            _raise_with(Reader.take, raw, p, end, size, what)
        if size == 1 and not signed:
            number: Any = raw[p]
        else:
            number = int.from_bytes(raw[p:q], "big", signed=signed)
        if tag == 3:
            number = bool(number)
        node = {
            "name": label + _TYPE_SUFFIX[tag],
            "value": str(number),
            "offset": pos,
            "length": q - pos,
            "children": [],
        }
        return node, q, tag, number
    if tag in (0, 255):
        text = "null" if tag == 0 else "don't care"
        return _leaf(label + _TYPE_SUFFIX[tag], text, pos, 1), p, tag, None
    if tag == 4:
        bits, p = _length(raw, p, end, "bit-string")
        size = (bits + 7) // 8
        octets = _take(raw, p, end, size, "bit-string")
        return (
            _leaf(label + " bit-string", _bits(octets, bits), pos, p + size - pos),
            p + size,
            4,
            octets,
        )
    if tag in _RAW:
        size = _RAW[tag]
        octets = _take(raw, p, end, size, DATA_TYPE_NAMES[tag])
        q = p + size
        text = format_dlms_datetime(octets) if tag == 25 else _octets_text(octets)
        return _leaf(label + _TYPE_SUFFIX[tag], text, pos, q - pos), q, tag, octets
    if tag in (10, 12):
        what = DATA_TYPE_NAMES[tag]
        size, p = _length(raw, p, end, what)
        octets = _take(raw, p, end, size, what)
        text = octets.decode("latin-1" if tag == 10 else "utf-8", errors="replace")
        return _leaf(label + _TYPE_SUFFIX[tag], text, pos, p + size - pos), p + size, tag, text
    if tag == COMPACT_ARRAY:
        return _compact_array(raw, pos, end, label, ctx, depth)
    raise GbcsError(pos, "a DLMS Data type", f"tag {tag}")


def _structure(
    raw: bytes,
    pos: int,
    p: int,
    end: int,
    count: int,
    label: str,
    ctx: ViewContext,
    depth: int,
    description: Description | None,
) -> Decoded:
    """A structure of ``count`` elements from ``p`` (``pos`` is where it starts): Data values,
    or inside a compact array values of the element types in ``description``. Its value is
    the (tag, value) of its first two elements, which name protected attributes and alerts."""
    children: list[Node] = []
    items: list[tuple[int, Any]] = []
    depth += 1
    for index in range(count):
        if description is None:
            child, p, child_tag, child_value = _data(raw, p, end, _INDEX[index], ctx, depth)
        else:
            child, p, child_tag, child_value = _described(
                raw, p, end, description[2][index], _INDEX[index], ctx, depth
            )
        children.append(child)
        if index < 2:
            items.append((child_tag, child_value))
    if count == 2 and _is_protected(items):
        return _protected(label, children, pos, p - pos, ctx), p, STRUCTURE, items
    node = {
        "name": label + " structure",
        "value": f"{count} element(s)",
        "offset": pos,
        "length": p - pos,
        "children": children,
    }
    return node, p, STRUCTURE, items


def _array(
    raw: bytes,
    pos: int,
    p: int,
    end: int,
    count: int,
    label: str,
    ctx: ViewContext,
    depth: int,
    description: Description | None,
) -> Decoded:
    """An array of ``count`` elements from ``p``, like :func:`_structure`; its value is None."""
    children: list[Node] = []
    append = children.append
    depth += 1
    if description is None:
        for index in range(count):
            child, p, _, _ = _data(raw, p, end, _INDEX[index], ctx, depth)
            append(child)
    else:
        element = description[2][0]
        for index in range(count):
            child, p, _, _ = _described(raw, p, end, element, _INDEX[index], ctx, depth)
            append(child)
    node = {
        "name": label + " array",
        "value": f"{count} element(s)",
        "offset": pos,
        "length": p - pos,
        "children": children,
    }
    return node, p, ARRAY, None


def _is_protected(items: list[tuple[int, Any]]) -> bool:
    """Protected attributes: structure{ array of protection parameters, ciphered octets }."""
    (parameters, _), (ciphered, octets) = items
    return (
        parameters in (ARRAY, STRUCTURE)
        and ciphered == OCTET_STRING
        and isinstance(octets, bytes)
        and len(octets) >= SECURITY_HEADER_AND_MAC
    )


def _protected(
    label: str, children: list[Node], offset: int, length: int, ctx: ViewContext
) -> Node:
    parameters, ciphered = children
    # the parameters were described as element "[0]": name them instead
    parameters["name"] = "Protection Parameters" + parameters["name"][3:]
    withheld = ctx.withhold(
        "Protected Attributes (ciphered)",
        ciphered["offset"],
        ciphered["length"],
        why="encrypted, withheld",
    )
    return _leaf(f"{label} Protected Attributes", None, offset, length, [parameters, withheld])


def _bits(octets: bytes, bits: int) -> str:
    """The first ``bits`` bits of ``octets`` as 0s and 1s."""
    if not octets:
        return ""
    return format(int.from_bytes(octets, "big"), f"0{8 * len(octets)}b")[:bits]


def _octets_text(octets: bytes) -> str:
    size = len(octets)
    if size == 12:
        if octets == DATE_TIME_NOW:
            return "now"
        if octets == DATE_TIME_NEVER:
            return "never"
        return format_dlms_datetime(octets)
    if not size:
        return "empty"
    if size > 1 and not octets.translate(None, _PRINTABLE):
        return f'"{octets.decode("ascii")}"'
    return octets.hex().upper()


# --- compact arrays ------------------------------------------------------------------------

#: A compact array's type description: (tag, element count, element descriptions).
Description = tuple[int, int, tuple[Any, ...]]


def _compact_array(
    raw: bytes, pos: int, end: int, label: str, ctx: ViewContext, depth: int
) -> Decoded:
    reader = Reader(raw, pos + 1, end)
    description = _type_description(reader, depth + 1)
    size = reader.ber_length("compact array contents")
    contents = reader.sub(size, "compact array contents")
    p, stop = contents.pos, contents.end
    children: list[Node] = []
    index = 0
    while p < stop:
        child_label = _INDEX[index]
        before = p
        child, p, _, _ = _described(raw, p, stop, description, child_label, ctx, depth + 1)
        if p == before:  # elements of no octets would repeat for ever
            raise GbcsError(before, "compact array elements that take octets")
        children.append(child)
        index += 1
    value = f"{index} element(s)"
    return _leaf(label + " compact-array", value, pos, stop - pos, children), stop, 19, None


def _type_description(reader: Reader, depth: int) -> Description:
    described = _reader_type_description(reader, depth)
    return _as_tuple(described)


def _as_tuple(described: Any) -> Description:
    return (
        described.tag,
        described.count,
        tuple(_as_tuple(child) for child in described.children),
    )


def _described(
    raw: bytes,
    pos: int,
    end: int,
    description: Description,
    label: str,
    ctx: ViewContext,
    depth: int,
) -> Decoded:
    """One element of a compact array: a value of type ``description``, without a tag."""
    if depth > MAX_DEPTH:
        raise GbcsError(pos, "compact array contents nested less deeply")
    tag, count, _ = description
    if tag == STRUCTURE:
        return _structure(raw, pos, pos, end, count, label, ctx, depth, description)
    if tag == ARRAY:
        if count > end - pos:
            raise GbcsError(pos, f"{count} compact array elements")
        return _array(raw, pos, pos, end, count, label, ctx, depth, description)
    if tag == 0:
        return _leaf(label + " null-data", "null", pos, 0), pos, 0, None
    integer = _INTEGERS.get(tag)
    if integer is not None:
        size, signed, _ = integer
        q = pos + size
        if q > end:
            _raise_with(Reader.take, raw, pos, end, size, "value")
        number: Any = int.from_bytes(raw[pos:q], "big", signed=signed)
        if tag == 3:
            number = bool(number)
        return _leaf(label + _TYPE_SUFFIX[tag], str(number), pos, size), q, tag, number
    if tag in _RAW:
        size = _RAW[tag]
        octets = _take(raw, pos, end, size, "value")
        text = format_dlms_datetime(octets) if tag == 25 else _octets_text(octets)
        return _leaf(label + _TYPE_SUFFIX[tag], text, pos, size), pos + size, tag, octets
    if tag == 4:
        bits, p = _length(raw, pos, end, "bit-string")
        size = (bits + 7) // 8
        octets = _take(raw, p, end, size, "bit-string")
        text = _bits(octets, bits)
        return _leaf(label + " bit-string", text, pos, p + size - pos), p + size, 4, octets
    size, p = _length(raw, pos, end, "string")
    octets = _take(raw, p, end, size, "string")
    q = p + size
    if tag == OCTET_STRING:
        return _leaf(label + " octet-string", _octets_text(octets), pos, q - pos), q, tag, octets
    text = octets.decode("latin-1", errors="replace")
    return _leaf(label + _TYPE_SUFFIX[tag], text, pos, q - pos), q, tag, text
