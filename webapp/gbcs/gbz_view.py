"""Description tree of a GBZ payload: components, ZCL headers and named command fields."""

from __future__ import annotations

import logging

from .datetimes import format_zcl_time
from .errors import GbcsError
from .gbz import (
    CMD_DEFAULT_RESPONSE,
    CMD_READ_ATTRIBUTES,
    CMD_READ_ATTRIBUTES_RESPONSE,
    CONTROL_ENCRYPTED,
    CONTROL_FROM_DATE_TIME,
    CONTROL_LAST,
    FRAME_CLUSTER_SPECIFIC,
    FRAME_DISABLE_DEFAULT_RESPONSE,
    FRAME_MANUFACTURER_SPECIFIC,
    FRAME_SERVER_TO_CLIENT,
    GbzComponent,
    GbzPayload,
    parse_gbz_payload,
)
from .reader import Reader
from .tree import Node, ViewContext, hex_text, printable
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
from .zcl_status import zcl_status_name

log = logging.getLogger(__name__)

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
        Node("Profile Id", f"0x{gbz.profile_id:04X} (Smart Energy)", start, 2),
        Node("Number of GBZ Components", str(gbz.declared_count), start + 2, 1),
    ]
    if gbz.alert_code is not None:
        nodes.append(_alert_code_node(gbz.alert_code, start + 3))
        time = int.from_bytes(raw[start + 5 : start + 9], "big")
        nodes.append(Node("Alert Time Stamp", format_zcl_time(time), start + 5, 4))
        if gbz.alert_specific is not None:
            nodes.append(_alert_specific(gbz.alert_code, gbz.alert_specific, start + 9))
    for index, component in enumerate(gbz.components, start=1):
        component_end = gbz.components[index].offset if index < len(gbz.components) else end
        nodes.append(_component_node(raw, component, component_end, index, ctx))
    return nodes, gbz


def _alert_code_node(code: int, offset: int) -> Node:
    name = alert_name(code)
    return Node("Alert Code", f"0x{code:04X}" + (f" {name}" if name else ""), offset, 2)


def _alert_specific(code: int, content: bytes, offset: int) -> Node:
    node = Node("Alert Content", None, offset, len(content))
    if len(content) == 15 and code in (0x8F66, 0x8F67):
        message_code = int.from_bytes(content[1:3], "big")
        cluster = int.from_bytes(content[11:13], "big")
        frame_control, command_id = content[13], content[14]
        command = cluster_command(cluster, command_id, bool(frame_control & FRAME_SERVER_TO_CLIENT))
        node.children = [
            Node("Content Tag", f"0x{content[0]:02X}", offset, 1),
            Node(
                "Message Code",
                _message_code_text(message_code),
                offset + 1,
                2,
            ),
            Node("Originator Counter", str(int.from_bytes(content[3:11], "big")), offset + 3, 8),
            Node("Cluster Id", f"0x{cluster:04X} {cluster_name(cluster)}", offset + 11, 2),
            Node("Frame Control", f"0x{frame_control:02X}", offset + 13, 1),
            Node(
                "Command Id",
                f"0x{command_id:02X}" + (f" {command.name}" if command else ""),
                offset + 14,
                1,
            ),
        ]
    elif len(content) == 34:
        node.children = [
            Node("Content Tag", hex_text(content[:2]), offset, 2),
            Node("Calculated Manufacturer Image Hash", hex_text(content[2:]), offset + 2, 32),
        ]
    else:
        node.value = hex_text(content)
    return node


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


def command_label(component: GbzComponent) -> str:
    frame = component.zcl
    if not frame.cluster_specific:
        return FOUNDATION_COMMANDS.get(frame.command_id, f"command 0x{frame.command_id:02X}")
    command = cluster_command(component.cluster_id, frame.command_id, frame.server_to_client)
    return command.name if command else f"command 0x{frame.command_id:02X}"


def _component_node(
    raw: bytes, component: GbzComponent, end: int, index: int, ctx: ViewContext
) -> Node:
    frame = component.zcl
    label = f"{cluster_name(component.cluster_id)}: {command_label(component)}"
    node = Node(f"GBZ Component {index}", label, component.offset, end - component.offset)
    offset = component.offset
    node.add(Node("Control Field", _control_text(component.control), offset, 1))
    node.add(
        Node(
            "Cluster Id",
            f"0x{component.cluster_id:04X} {cluster_name(component.cluster_id)}",
            offset + 1,
            2,
        )
    )
    length = int.from_bytes(raw[offset + 3 : offset + 5], "big")
    node.add(Node("Length", str(length), offset + 3, 2))
    cursor = offset + 5
    if component.control & CONTROL_FROM_DATE_TIME:
        node.add(
            Node("From Date Time", format_zcl_time(component.from_date_time_raw or 0), cursor, 4)
        )
        cursor += 4
    if component.encrypted is not None:
        node.add(
            Node(
                "Additional Header Control", str(component.encrypted.additional_control), cursor, 1
            )
        )
        node.add(
            Node(
                "Additional Header Frame Counter",
                str(component.encrypted.frame_counter),
                cursor + 1,
                1,
            )
        )
    zcl = component.zcl_offset
    header_length = component.payload_offset - zcl
    if component.encrypted is not None:
        header_length -= 2
    header = node.add(Node("ZCL Header", None, zcl, header_length))
    header.add(Node("Frame Control", _frame_control_text(frame.frame_control), zcl, 1))
    cursor = zcl + 1
    if frame.manufacturer_code is not None:
        header.add(Node("Manufacturer Code", f"0x{frame.manufacturer_code:04X}", cursor, 2))
        cursor += 2
    header.add(Node("Sequence Number", str(frame.sequence), cursor, 1))
    header.add(
        Node("Command Id", f"0x{frame.command_id:02X} {command_label(component)}", cursor + 1, 1)
    )
    if component.encrypted is not None:
        size = len(component.encrypted.ciphered)
        node.add(Node("Ciphered Information Length", str(size), component.payload_offset - 2, 2))
        node.add(
            ctx.withhold(
                f"Encrypted {command_label(component)}",
                component.payload_offset,
                size,
                why="encrypted, withheld",
            )
        )
        return node
    payload_node = Node(
        "ZCL Payload", None, component.payload_offset, end - component.payload_offset
    )
    try:
        payload_node.children = _zcl_payload(raw, component, end, ctx)
    except GbcsError as exc:
        payload_node.value = f"not decoded ({exc})"
    node.add(payload_node)
    return node


def _zcl_payload(raw: bytes, component: GbzComponent, end: int, ctx: ViewContext) -> list[Node]:
    frame = component.zcl
    start = component.payload_offset
    if not frame.cluster_specific:
        return _foundation_payload(raw, component, start, end)
    command = cluster_command(component.cluster_id, frame.command_id, frame.server_to_client)
    if command is None:
        return (
            [Node("Payload", hex_text(raw[start:end]), start, end - start)] if end > start else []
        )
    return decode_fields(Reader(raw, start, end), command, ctx)


def _foundation_payload(raw: bytes, component: GbzComponent, start: int, end: int) -> list[Node]:
    frame = component.zcl
    cluster = component.cluster_id
    reader = Reader(raw, start, end)
    nodes: list[Node] = []
    if frame.command_id == CMD_READ_ATTRIBUTES:
        while not reader.at_end:
            offset = reader.pos
            attribute = reader.uint(2, "attribute id", little=True)
            nodes.append(Node("Attribute Id", _attribute_text(cluster, attribute), offset, 2))
        return nodes
    if frame.command_id == CMD_READ_ATTRIBUTES_RESPONSE:
        for record in read_attribute_records(raw, start, end):
            name = attribute_name(cluster, record.attribute_id) or f"0x{record.attribute_id:04X}"
            length = (
                record.value.offset + record.value.length - record.offset
                if record.value is not None
                else 3
            )
            node = Node(f"Attribute {name}", None, record.offset, length)
            node.add(
                Node(
                    "Attribute Id", _attribute_text(cluster, record.attribute_id), record.offset, 2
                )
            )
            node.add(Node("Status", zcl_status_name(record.status), record.offset + 2, 1))
            if record.value is not None:
                node.value = format_zcl_value(record.value)
                node.add(Node("Data Type", record.value.type_name, record.offset + 3, 1))
                node.add(Node("Value", node.value, record.value.offset, record.value.length))
            else:
                node.value = zcl_status_name(record.status)
            nodes.append(node)
        return nodes
    if frame.command_id == CMD_DEFAULT_RESPONSE:
        offset = reader.pos
        command_id = reader.u8("command id")
        status = reader.u8("status")
        named = _command_name_any(cluster, command_id)
        nodes.append(
            Node("Command Id", f"0x{command_id:02X}" + (f" {named}" if named else ""), offset, 1)
        )
        nodes.append(Node("Status Code", zcl_status_name(status), offset + 1, 1))
        return nodes
    if frame.command_id == _WRITE_ATTRIBUTES:
        while not reader.at_end:
            offset = reader.pos
            attribute = reader.uint(2, "attribute id", little=True)
            data_type = reader.u8("attribute data type")
            value = read_value(reader, data_type)
            nodes.append(
                Node(
                    _attribute_text(cluster, attribute),
                    format_zcl_value(value),
                    offset,
                    reader.pos - offset,
                )
            )
        return nodes
    if end > start:
        nodes.append(Node("Payload", hex_text(raw[start:end]), start, end - start))
    return nodes


def _command_name_any(cluster_id: int, command_id: int) -> str | None:
    cluster = CLUSTERS.get(cluster_id)
    if cluster is None:
        return None
    command = cluster.client_commands.get(command_id) or cluster.server_commands.get(command_id)
    return command.name if command else None


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


def decode_fields(reader: Reader, command: Command, ctx: ViewContext) -> list[Node]:
    """Nodes for a cluster command's fields; trailing octets become an "Unparsed" node."""
    values: dict[str, int] = {}
    nodes = _decode_items(reader, command.fields, values, ctx)
    if not reader.at_end:
        start = reader.pos
        rest = reader.rest()
        nodes.append(Node("Unparsed", hex_text(rest), start, len(rest)))
    return nodes


def _decode_items(
    reader: Reader, items: tuple[Field | Repeat, ...], values: dict[str, int], ctx: ViewContext
) -> list[Node]:
    nodes: list[Node] = []
    for item in items:
        if isinstance(item, Repeat):
            nodes.extend(_decode_repeat(reader, item, values, ctx))
            continue
        node = _decode_field(reader, item, values, ctx)
        if node is not None:
            nodes.append(node)
    return nodes


def _decode_repeat(
    reader: Reader, repeat: Repeat, values: dict[str, int], ctx: ViewContext
) -> list[Node]:
    nodes = []
    count = None
    if repeat.count_from is not None:
        count = values.get(repeat.count_from, 0) & repeat.count_mask
    index = 0
    while (count is None and not reader.at_end) or (count is not None and index < count):
        start = reader.pos
        children = _decode_items(reader, repeat.fields, dict(values), ctx)
        index += 1
        node = Node(f"{repeat.label} {index}", None, start, reader.pos - start, children)
        if len(children) == 1:
            node.value = children[0].value
        nodes.append(node)
        if reader.pos == start:
            break
    return nodes


def _decode_field(
    reader: Reader, item: Field, values: dict[str, int], ctx: ViewContext
) -> Node | None:
    start = reader.pos
    kind = item.kind
    if kind == "rest":
        if reader.at_end:
            return None
        rest = reader.rest()
        return Node(item.name, hex_text(rest), start, len(rest))
    if kind in ("octstr", "utrn"):
        size = reader.u8(f"{item.name} length")
        content = reader.take(size if size != 0xFF else 0, item.name)
        text = printable(content) or hex_text(content) or "empty"
    elif kind in _INT_SIZES:
        number = reader.uint(_INT_SIZES[kind], item.name, little=True)
        values[item.name] = number
        text = str(number)
        if item.values and number in item.values:
            text = f"{number} {item.values[number]}"
    elif kind == "i32":
        text = str(reader.sint(4, item.name, little=True))
    elif kind in _MAP_SIZES:
        size = _MAP_SIZES[kind]
        number = reader.uint(size, item.name, little=True)
        values[item.name] = number
        text = f"0x{number:0{2 * size}X}"
        if item.values and number in item.values:
            text += f" {item.values[number]}"
    elif kind == "utc":
        text = format_zcl_time(reader.uint(4, item.name, little=True))
    elif kind == "minutes":
        minutes = reader.uint(2, item.name, little=True)
        text = f"{minutes // 60:02d}:{minutes % 60:02d}"
    elif kind == "date":
        text = _format_zcl_date(reader.take(4, item.name))
    elif kind == "bytes7":
        text = hex_text(reader.take(7, item.name))
    else:
        raise reader.fail(f"a field kind the table knows, not {kind}")
    length = reader.pos - start
    if item.sensitive:
        return ctx.withhold(item.name, start, length)
    return Node(item.name, text, start, length)


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
