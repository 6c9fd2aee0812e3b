"""ZCL data types (little-endian) and the foundation records GBZ payloads carry."""

from __future__ import annotations

from typing import Any

from .reader import Reader
from .records import record

MAX_DEPTH = 8
TYPE_NAMES = {
    0x00: "nodata",
    0x10: "bool",
    0x30: "enum8",
    0x31: "enum16",
    0x38: "semi",
    0x39: "single",
    0x3A: "double",
    0x41: "octstr",
    0x42: "string",
    0x43: "octstr16",
    0x44: "string16",
    0x48: "array",
    0x4C: "struct",
    0x50: "set",
    0x51: "bag",
    0xE0: "ToD",
    0xE1: "date",
    0xE2: "UTC",
    0xE8: "clusterId",
    0xE9: "attribId",
    0xEA: "bacOID",
    0xF0: "EUI64",
    0xF1: "key128",
    0xFF: "unknown",
}
for _i in range(8):
    TYPE_NAMES[0x08 + _i] = f"data{8 * (_i + 1)}"
    TYPE_NAMES[0x18 + _i] = f"map{8 * (_i + 1)}"
    TYPE_NAMES[0x20 + _i] = f"uint{8 * (_i + 1)}"
    TYPE_NAMES[0x28 + _i] = f"int{8 * (_i + 1)}"

_RAW_SIZES = {0x38: 2, 0x39: 4, 0x3A: 8, 0xE0: 4, 0xE1: 4, 0xF0: 8, 0xF1: 16}
_UINT_SIZES = {0x10: 1, 0x30: 1, 0x31: 2, 0xE2: 4, 0xE8: 2, 0xE9: 2, 0xEA: 4}


def fixed_size(data_type: int) -> int | None:
    """Octets of a fixed-size ZCL type, None for variable or unknown types."""
    if 0x08 <= data_type <= 0x0F:
        return data_type - 0x07
    if 0x18 <= data_type <= 0x1F:
        return data_type - 0x17
    if 0x20 <= data_type <= 0x27:
        return data_type - 0x1F
    if 0x28 <= data_type <= 0x2F:
        return data_type - 0x27
    if data_type in _UINT_SIZES:
        return _UINT_SIZES[data_type]
    if data_type in _RAW_SIZES:
        return _RAW_SIZES[data_type]
    if data_type in (0x00, 0xFF):
        return 0
    return None


@record
class ZclValue:
    data_type: int
    value: Any
    offset: int
    length: int

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.data_type, f"type 0x{self.data_type:02X}")


def read_value(reader: Reader, data_type: int, depth: int = 0) -> ZclValue:
    """Read one value of ``data_type`` (the type octet already consumed)."""
    if depth > MAX_DEPTH:
        raise reader.fail("ZCL values nested less deeply")
    start = reader.pos
    what = TYPE_NAMES.get(data_type, "value")
    value: Any
    if 0x28 <= data_type <= 0x2F:
        value = reader.sint(data_type - 0x27, what, little=True)
    elif (0x08 <= data_type <= 0x0F) or data_type in _RAW_SIZES:
        value = reader.take(fixed_size(data_type) or 0, what)
    elif fixed_size(data_type) is not None:
        value = reader.uint(fixed_size(data_type) or 0, what, little=True)
        if data_type == 0x10:
            value = bool(value)
    elif data_type in (0x41, 0x42, 0x43, 0x44):
        size = reader.uint(1 if data_type in (0x41, 0x42) else 2, f"{what} length", little=True)
        invalid = 0xFF if data_type in (0x41, 0x42) else 0xFFFF
        raw = b"" if size == invalid else reader.take(size, what)
        value = raw.decode("latin-1") if data_type in (0x42, 0x44) else raw
    elif data_type in (0x48, 0x50, 0x51):
        element_type = reader.u8("array element type")
        count = reader.uint(2, "array element count", little=True)
        if count > reader.remaining and (fixed_size(element_type) or 1) > 0:
            raise reader.fail(f"{count} array elements", f"{reader.remaining} byte(s)")
        value = [read_value(reader, element_type, depth + 1) for _ in range(count)]
    elif data_type == 0x4C:
        count = reader.uint(2, "structure element count", little=True)
        items = []
        for _ in range(count):
            element_type = reader.u8("structure element type")
            items.append(read_value(reader, element_type, depth + 1))
        value = items
    else:
        raise reader.fail("a known ZCL data type", f"0x{data_type:02X}", start - 1)
    return ZclValue(data_type, value, start, reader.pos - start)


def encode_value(data_type: int, value: Any) -> bytes:
    """Encode a scalar or string ZCL value (the type octet not included)."""
    size = fixed_size(data_type)
    if data_type in (0x41, 0x42):
        raw = value.encode("latin-1") if isinstance(value, str) else bytes(value)
        if len(raw) > 0xFE:
            raise ValueError("ZCL string too long")
        return bytes([len(raw)]) + raw
    if data_type in (0x43, 0x44):
        raw = value.encode("latin-1") if isinstance(value, str) else bytes(value)
        return len(raw).to_bytes(2, "little") + raw
    if size is None:
        raise ValueError(f"cannot encode ZCL type 0x{data_type:02X}")
    if isinstance(value, bytes | bytearray):
        if len(value) != size:
            raise ValueError(f"ZCL type 0x{data_type:02X} needs {size} octets")
        return bytes(value)
    signed = 0x28 <= data_type <= 0x2F
    return int(value).to_bytes(size, "little", signed=signed)


@record
class AttributeReport:
    attribute_id: int
    status: int
    value: ZclValue | None
    offset: int


def read_attribute_records(
    data: bytes, offset: int = 0, end: int | None = None
) -> list[AttributeReport]:
    """The records of a Read Attributes Response payload."""
    reader = Reader(data, offset, end)
    records = []
    while not reader.at_end:
        start = reader.pos
        attribute_id = reader.uint(2, "attribute id", little=True)
        status = reader.u8("attribute status")
        value = None
        if status == 0:
            data_type = reader.u8("attribute data type")
            value = read_value(reader, data_type)
        records.append(AttributeReport(attribute_id, status, value, start))
    return records
