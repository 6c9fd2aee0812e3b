"""Description tree of a GBZ payload: components, ZCL headers and named command fields."""

from __future__ import annotations

from functools import lru_cache

from .datetimes import format_zcl_time
from .errors import GbcsError
from .gbz import (
    CONTROL_ENCRYPTED,
    CONTROL_FROM_DATE_TIME,
    CONTROL_LAST,
    GbzComponent,
    GbzPayload,
    parse_gbz_payload,
)
from .reader import Reader
from .tree import Node, ViewContext, hex_text, printable
from .tree import node as _leaf
from .usecases import alert_name, message_code_name
from .zcl import ZclValue, read_attribute_records, read_value
from .zcl_clusters import (
    CLUSTERS,
    FOUNDATION_COMMANDS,
    Command,
    Field,
    Repeat,
    attribute_name,
    cluster_command,
    cluster_name,
)
from .zcl_ids import (
    CMD_DEFAULT_RESPONSE,
    CMD_READ_ATTRIBUTES,
    CMD_READ_ATTRIBUTES_RESPONSE,
    FRAME_CLUSTER_SPECIFIC,
    FRAME_DISABLE_DEFAULT_RESPONSE,
    FRAME_MANUFACTURER_SPECIFIC,
    FRAME_SERVER_TO_CLIENT,
)
from .zcl_status import zcl_status_name

_INT_SIZES = {"u8": 1, "u16": 2, "u24": 3, "u32": 4, "u48": 6, "enum8": 1, "enum16": 2}
_MAP_SIZES = {"map8": 1, "map16": 2, "map32": 4}
_WRITE_ATTRIBUTES = 0x02
UTC_TYPE = 0xE2


def gbz_tree(
    raw: bytes, start: int, end: int, ctx: ViewContext, *, alert: bool
) -> tuple[list[Node], GbzPayload]:
    """Nodes for the GBZ payload in ``raw[start:end]``; raises GbcsError if its frame is bad."""
    gbz = parse_gbz_payload(raw, alert=alert, offset=start, end=end)
    nodes = [
        _leaf("Profile Id", f"0x{gbz.profile_id:04X} (Smart Energy)", start, 2),
        _leaf("Number of GBZ Components", str(gbz.declared_count), start + 2, 1),
    ]
    if gbz.alert_code is not None:
        nodes.append(_alert_code_node(gbz.alert_code, start + 3))
        time = int.from_bytes(raw[start + 5 : start + 9], "big")
        nodes.append(_leaf("Alert Time Stamp", format_zcl_time(time), start + 5, 4))
        if gbz.alert_specific is not None:
            nodes.append(_alert_specific(gbz.alert_code, gbz.alert_specific, start + 9))
    components = gbz.components
    for index, component in enumerate(components, start=1):
        component_end = components[index].offset if index < len(components) else end
        nodes.append(_component_node(raw, component, component_end, index, ctx))
    return nodes, gbz


def _alert_code_node(code: int, offset: int) -> Node:
    name = alert_name(code)
    return _leaf("Alert Code", f"0x{code:04X}" + (f" {name}" if name else ""), offset, 2)


def _alert_specific(code: int, content: bytes, offset: int) -> Node:
    if len(content) == 15 and code in (0x8F66, 0x8F67):
        message_code = int.from_bytes(content[1:3], "big")
        cluster = int.from_bytes(content[11:13], "big")
        frame_control, command_id = content[13], content[14]
        command = cluster_command(cluster, command_id, bool(frame_control & FRAME_SERVER_TO_CLIENT))
        children = [
            _leaf("Content Tag", f"0x{content[0]:02X}", offset, 1),
            _leaf("Message Code", _message_code_text(message_code), offset + 1, 2),
            _leaf("Originator Counter", str(int.from_bytes(content[3:11], "big")), offset + 3, 8),
            _leaf("Cluster Id", f"0x{cluster:04X} {cluster_name(cluster)}", offset + 11, 2),
            _leaf("Frame Control", f"0x{frame_control:02X}", offset + 13, 1),
            _leaf(
                "Command Id",
                f"0x{command_id:02X}" + (f" {command.name}" if command else ""),
                offset + 14,
                1,
            ),
        ]
        return _leaf("Alert Content", None, offset, len(content), children)
    if len(content) == 34:
        children = [
            _leaf("Content Tag", hex_text(content[:2]), offset, 2),
            _leaf("Calculated Manufacturer Image Hash", hex_text(content[2:]), offset + 2, 32),
        ]
        return _leaf("Alert Content", None, offset, len(content), children)
    return _leaf("Alert Content", hex_text(content), offset, len(content))


def _message_code_text(code: int) -> str:
    name = message_code_name(code)
    return f"0x{code:04X}" + (f" {name}" if name else "")


def _control_text(control: int) -> str:
    flags = []
    if control & CONTROL_LAST:
        flags.append("last")
    if control & CONTROL_ENCRYPTED:
        flags.append("encrypted")
    if control & CONTROL_FROM_DATE_TIME:
        flags.append("from-date-time")
    return f"0x{control:02X}" + (f" ({', '.join(flags)})" if flags else "")


def _frame_control_text(frame_control: int) -> str:
    parts = [
        "cluster-specific" if frame_control & FRAME_CLUSTER_SPECIFIC else "profile-wide",
        "server to client" if frame_control & FRAME_SERVER_TO_CLIENT else "client to server",
    ]
    if frame_control & FRAME_MANUFACTURER_SPECIFIC:
        parts.append("manufacturer-specific")
    if frame_control & FRAME_DISABLE_DEFAULT_RESPONSE:
        parts.append("no default response")
    return f"0x{frame_control:02X} ({', '.join(parts)})"


_CONTROL_TEXTS = [_control_text(control) for control in range(256)]
_STATUS_TEXTS = [zcl_status_name(status) for status in range(256)]
_FRAME_CONTROL_TEXTS = [_frame_control_text(frame_control) for frame_control in range(256)]


def _command_label(cluster_id: int, frame_control: int, command_id: int) -> str:
    if not frame_control & FRAME_CLUSTER_SPECIFIC:
        return FOUNDATION_COMMANDS.get(command_id) or f"command 0x{command_id:02X}"
    server_to_client = bool(frame_control & FRAME_SERVER_TO_CLIENT)
    command = cluster_command(cluster_id, command_id, server_to_client)
    return command.name if command else f"command 0x{command_id:02X}"


@lru_cache(maxsize=1024)
def _component_texts(cluster_id: int, frame_control: int, command_id: int) -> tuple[str, ...]:
    """(component label, cluster id text, command id text, command label) of a component."""
    cluster = cluster_name(cluster_id)
    command = _command_label(cluster_id, frame_control, command_id)
    return (
        f"{cluster}: {command}",
        f"0x{cluster_id:04X} {cluster}",
        f"0x{command_id:02X} {command}",
        command,
    )


def _component_node(
    raw: bytes, component: GbzComponent, end: int, index: int, ctx: ViewContext
) -> Node:
    frame = component.zcl
    label, cluster_text, command_text, command = _component_texts(
        component.cluster_id, frame.frame_control, frame.command_id
    )
    offset = component.offset
    length = raw[offset + 3] << 8 | raw[offset + 4]
    children = [
        _leaf("Control Field", _CONTROL_TEXTS[component.control], offset, 1),
        _leaf("Cluster Id", cluster_text, offset + 1, 2),
        _leaf("Length", str(length), offset + 3, 2),
    ]
    cursor = offset + 5
    if component.control & CONTROL_FROM_DATE_TIME:
        time = format_zcl_time(component.from_date_time_raw or 0)
        children.append(_leaf("From Date Time", time, cursor, 4))
        cursor += 4
    encrypted = component.encrypted
    if encrypted is not None:
        control = str(encrypted.additional_control)
        children.append(_leaf("Additional Header Control", control, cursor, 1))
        counter = str(encrypted.frame_counter)
        children.append(_leaf("Additional Header Frame Counter", counter, cursor + 1, 1))
    zcl = component.zcl_offset
    payload_offset = component.payload_offset
    header_length = payload_offset - zcl
    if encrypted is not None:
        header_length -= 2
    header = [_leaf("Frame Control", _FRAME_CONTROL_TEXTS[frame.frame_control], zcl, 1)]
    cursor = zcl + 1
    if frame.manufacturer_code is not None:
        header.append(_leaf("Manufacturer Code", f"0x{frame.manufacturer_code:04X}", cursor, 2))
        cursor += 2
    header.append(_leaf("Sequence Number", str(frame.sequence), cursor, 1))
    header.append(_leaf("Command Id", command_text, cursor + 1, 1))
    children.append(_leaf("ZCL Header", None, zcl, header_length, header))
    result = _leaf(f"GBZ Component {index}", label, offset, end - offset, children)
    if encrypted is not None:
        size = len(encrypted.ciphered)
        children.append(_leaf("Ciphered Information Length", str(size), payload_offset - 2, 2))
        children.append(
            ctx.withhold(f"Encrypted {command}", payload_offset, size, why="encrypted, withheld")
        )
        return result
    payload = _leaf("ZCL Payload", None, payload_offset, end - payload_offset)
    try:
        payload["children"] = _zcl_payload(raw, component, end, ctx)
    except GbcsError as exc:
        payload["value"] = f"not decoded ({exc})"
    children.append(payload)
    return result


def _zcl_payload(raw: bytes, component: GbzComponent, end: int, ctx: ViewContext) -> list[Node]:
    frame = component.zcl
    start = component.payload_offset
    frame_control = frame.frame_control
    if not frame_control & FRAME_CLUSTER_SPECIFIC:
        return _foundation_payload(raw, component, start, end)
    server_to_client = bool(frame_control & FRAME_SERVER_TO_CLIENT)
    command = cluster_command(component.cluster_id, frame.command_id, server_to_client)
    if command is None:
        return (
            [_leaf("Payload", hex_text(raw[start:end]), start, end - start)] if end > start else []
        )
    nodes, _ = _fields(raw, start, end, command, ctx)
    return nodes


def _foundation_payload(raw: bytes, component: GbzComponent, start: int, end: int) -> list[Node]:
    frame = component.zcl
    cluster = component.cluster_id
    reader = Reader(raw, start, end)
    nodes: list[Node] = []
    if frame.command_id == CMD_READ_ATTRIBUTES:
        offset = start
        while offset < end:
            if end - offset < 2:
                Reader(raw, offset, end).need(2, "attribute id")
            attribute = raw[offset] | raw[offset + 1] << 8
            nodes.append(_leaf("Attribute Id", _attribute_text(cluster, attribute), offset, 2))
            offset += 2
        return nodes
    if frame.command_id == CMD_READ_ATTRIBUTES_RESPONSE:
        for record in read_attribute_records(raw, start, end):
            name = attribute_name(cluster, record.attribute_id) or f"0x{record.attribute_id:04X}"
            value = record.value
            length = value.offset + value.length - record.offset if value is not None else 3
            children = [
                _leaf(
                    "Attribute Id", _attribute_text(cluster, record.attribute_id), record.offset, 2
                ),
                _leaf("Status", _STATUS_TEXTS[record.status], record.offset + 2, 1),
            ]
            if value is not None:
                text = format_zcl_value(value)
                children.append(_leaf("Data Type", value.type_name, record.offset + 3, 1))
                children.append(_leaf("Value", text, value.offset, value.length))
            else:
                text = _STATUS_TEXTS[record.status]
            nodes.append(_leaf(f"Attribute {name}", text, record.offset, length, children))
        return nodes
    if frame.command_id == CMD_DEFAULT_RESPONSE:
        offset = reader.pos
        command_id = reader.u8("command id")
        status = reader.u8("status")
        named = _command_name_any(cluster, command_id)
        nodes.append(
            _leaf("Command Id", f"0x{command_id:02X}" + (f" {named}" if named else ""), offset, 1)
        )
        nodes.append(_leaf("Status Code", _STATUS_TEXTS[status], offset + 1, 1))
        return nodes
    if frame.command_id == _WRITE_ATTRIBUTES:
        while not reader.at_end:
            offset = reader.pos
            attribute = reader.uint(2, "attribute id", little=True)
            data_type = reader.u8("attribute data type")
            value = read_value(reader, data_type)
            nodes.append(
                _leaf(
                    _attribute_text(cluster, attribute),
                    format_zcl_value(value),
                    offset,
                    reader.pos - offset,
                )
            )
        return nodes
    if end > start:
        nodes.append(_leaf("Payload", hex_text(raw[start:end]), start, end - start))
    return nodes


def _command_name_any(cluster_id: int, command_id: int) -> str | None:
    cluster = CLUSTERS.get(cluster_id)
    if cluster is None:
        return None
    command = cluster.client_commands.get(command_id) or cluster.server_commands.get(command_id)
    return command.name if command else None


@lru_cache(maxsize=1024)
def _attribute_text(cluster: int, attribute: int) -> str:
    name = attribute_name(cluster, attribute)
    return f"0x{attribute:04X}" + (f" {name}" if name else "")


def format_zcl_value(value: ZclValue) -> str:
    if value.data_type == UTC_TYPE and isinstance(value.value, int):
        return format_zcl_time(value.value)
    if isinstance(value.value, bool | int):
        return str(value.value)
    if isinstance(value.value, str):
        return value.value
    if isinstance(value.value, bytes):
        return printable(value.value) or hex_text(value.value)
    if isinstance(value.value, list):
        return "[" + ", ".join(format_zcl_value(item) for item in value.value) + "]"
    return str(value.value)


def _fields(
    raw: bytes, pos: int, end: int, command: Command, ctx: ViewContext
) -> tuple[list[Node], int]:
    nodes, pos = _decode_items(raw, pos, end, command.fields, {}, ctx)
    if pos < end:
        nodes.append(_leaf("Unparsed", raw[pos:end].hex().upper(), pos, end - pos))
    return nodes, end


def _decode_items(
    raw: bytes,
    pos: int,
    end: int,
    items: tuple[Field | Repeat, ...],
    values: dict[str, int],
    ctx: ViewContext,
) -> tuple[list[Node], int]:
    nodes: list[Node] = []
    for item in items:
        if isinstance(item, Repeat):
            repeated, pos = _decode_repeat(raw, pos, end, item, values, ctx)
            nodes.extend(repeated)
            continue
        field_node, pos = _decode_field(raw, pos, end, item, values, ctx)
        if field_node is not None:
            nodes.append(field_node)
    return nodes, pos


def _decode_repeat(
    raw: bytes, pos: int, end: int, repeat: Repeat, values: dict[str, int], ctx: ViewContext
) -> tuple[list[Node], int]:
    nodes = []
    count = None
    if repeat.count_from is not None:
        count = values.get(repeat.count_from, 0) & repeat.count_mask
    index = 0
    while (count is None and pos < end) or (count is not None and index < count):
        start = pos
        children, pos = _decode_items(raw, pos, end, repeat.fields, dict(values), ctx)
        index += 1
        value = children[0]["value"] if len(children) == 1 else None
        nodes.append(_leaf(f"{repeat.label} {index}", value, start, pos - start, children))
        if pos == start:
            break
    return nodes, pos


def _take(raw: bytes, pos: int, end: int, size: int, what: str) -> bytes:
    if end - pos < size:
        Reader(raw, pos, end).need(size, what)
    return raw[pos : pos + size]


def _decode_field(
    raw: bytes, pos: int, end: int, item: Field, values: dict[str, int], ctx: ViewContext
) -> tuple[Node | None, int]:
    """The node of one field at ``pos`` (None for an absent trailing "rest") and the offset
    after it; a sensitive field is withheld."""
    start = pos
    kind = item.kind
    size = _INT_SIZES.get(kind)
    if size is not None:
        number = int.from_bytes(_take(raw, pos, end, size, item.name), "little")
        pos += size
        values[item.name] = number
        text = str(number)
        if item.values and number in item.values:
            text = f"{number} {item.values[number]}"
    elif kind in ("octstr", "utrn"):
        if pos >= end:
            Reader(raw, pos, end).need(1, f"{item.name} length")
        size = raw[pos]
        content = _take(raw, pos + 1, end, size if size != 0xFF else 0, item.name)
        pos += 1 + len(content)
        text = printable(content) or content.hex().upper() or "empty"
    elif kind in _MAP_SIZES:
        size = _MAP_SIZES[kind]
        number = int.from_bytes(_take(raw, pos, end, size, item.name), "little")
        pos += size
        values[item.name] = number
        text = f"0x{number:0{2 * size}X}"
        if item.values and number in item.values:
            text += f" {item.values[number]}"
    elif kind == "utc":
        text = format_zcl_time(int.from_bytes(_take(raw, pos, end, 4, item.name), "little"))
        pos += 4
    elif kind == "rest":
        if pos >= end:
            return None, pos
        return _leaf(item.name, raw[pos:end].hex().upper(), pos, end - pos), end
    elif kind == "i32":
        number = int.from_bytes(_take(raw, pos, end, 4, item.name), "little", signed=True)
        pos += 4
        text = str(number)
    elif kind == "minutes":
        minutes = int.from_bytes(_take(raw, pos, end, 2, item.name), "little")
        pos += 2
        text = f"{minutes // 60:02d}:{minutes % 60:02d}"
    elif kind == "date":
        text = _format_zcl_date(_take(raw, pos, end, 4, item.name))
        pos += 4
    elif kind == "bytes7":
        text = _take(raw, pos, end, 7, item.name).hex().upper()
        pos += 7
    else:
        raise GbcsError(pos, f"a field kind the table knows, not {kind}")
    if item.sensitive:
        return ctx.withhold(item.name, start, pos - start), pos
    return _leaf(item.name, text, start, pos - start), pos


def _format_zcl_date(raw: bytes) -> str:
    year, month, day, weekday = raw
    parts = [
        "*" if year == 0xFF else str(1900 + year),
        "*" if month == 0xFF else f"{month:02d}",
        "*" if day == 0xFF else f"{day:02d}",
    ]
    text = "-".join(parts)
    if weekday != 0xFF:
        text += f" (day of week {weekday})"
    return text
