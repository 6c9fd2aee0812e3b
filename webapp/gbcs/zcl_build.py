"""Building Smart Energy cluster commands from the payload layouts of :mod:`zcl_clusters`.

The layout that names a command's fields when a payload is read also lays them out when one
is built: :func:`encode_command` takes a value for each field by its name (a list of such
mappings for a repeated group), so what is built reads back field for field.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from .datetimes import encode_zcl_time
from .gbz import GbzComponent, ZclFrame
from .zcl_clusters import Command, Field, Repeat, cluster_command
from .zcl_ids import FRAME_CLUSTER_SPECIFIC, FRAME_SERVER_TO_CLIENT

log = logging.getLogger(__name__)

_SIZES = {
    "u8": 1,
    "u16": 2,
    "u24": 3,
    "u32": 4,
    "u48": 6,
    "enum8": 1,
    "enum16": 2,
    "map8": 1,
    "map16": 2,
    "map32": 4,
}
DAY_IDS_PER_WEEK = 7
ZCL_YEAR_BASE = 1900
#: A ZCL date octet that matches any value (every year, any day of the week).
ANY = 0xFF
MINUTES_PER_HOUR = 60

Values = Mapping[str, object]


def encode_command(command: Command, values: Values) -> bytes:
    """The payload of ``command`` with ``values`` (field name -> value; a repeated group's
    label -> a sequence of such mappings). Raises KeyError for a missing field."""
    return _encode_items(command.fields, values)


def _encode_items(items: Sequence[Field | Repeat], values: Values) -> bytes:
    out = bytearray()
    for item in items:
        if isinstance(item, Repeat):
            groups = values.get(item.label, ())
            assert isinstance(groups, Sequence)
            for group in groups:
                out += _encode_items(item.fields, group)
            continue
        if item.kind == "rest" and item.name not in values:
            continue
        out += encode_field(item, values[item.name])
    return bytes(out)


def encode_field(item: Field, value: object) -> bytes:
    """One field's octets (ZCL integers are little-endian)."""
    kind = item.kind
    size = _SIZES.get(kind)
    if size is not None:
        assert isinstance(value, int)
        return value.to_bytes(size, "little")
    if kind == "i32":
        assert isinstance(value, int)
        return value.to_bytes(4, "little", signed=True)
    if kind in ("octstr", "utrn"):
        raw = value.encode() if isinstance(value, str) else bytes(value)  # type: ignore[arg-type]
        return bytes([len(raw)]) + raw
    if kind == "utc":
        assert value is None or isinstance(value, datetime)
        return encode_zcl_time(value).to_bytes(4, "little")
    if kind == "minutes":
        hour, minute = value  # type: ignore[misc]
        return (hour * MINUTES_PER_HOUR + minute).to_bytes(2, "little")
    if kind == "date":
        return _encode_date(value)
    if kind == "bytes7":
        raw = bytes(value)  # type: ignore[call-overload]
        if len(raw) != DAY_IDS_PER_WEEK:
            raise ValueError(f"{item.name} takes 7 octets, not {len(raw)}")
        return raw
    if kind == "rest":
        return bytes(value)  # type: ignore[call-overload]
    raise ValueError(f"no encoding for field kind {kind}")


def _encode_date(value: object) -> bytes:
    """A ZCL date: a ``date`` (day of week left open), or (month, day) for every year."""
    if isinstance(value, date):
        return bytes([value.year - ZCL_YEAR_BASE, value.month, value.day, ANY])
    month, day = value  # type: ignore[misc]
    return bytes([ANY, month, day, ANY])


def cluster_component(
    cluster_id: int,
    command_id: int,
    values: Values,
    *,
    sequence: int,
    server_to_client: bool = True,
) -> GbzComponent:
    """A GBZ component carrying cluster ``cluster_id``'s command ``command_id``."""
    command = cluster_command(cluster_id, command_id, server_to_client)
    if command is None:
        raise ValueError(f"cluster 0x{cluster_id:04X} has no command 0x{command_id:02X} here")
    frame_control = FRAME_CLUSTER_SPECIFIC | (FRAME_SERVER_TO_CLIENT if server_to_client else 0)
    frame = ZclFrame(frame_control, sequence, command_id, encode_command(command, values))
    return GbzComponent(control=0, cluster_id=cluster_id, zcl=frame)
