"""GBZ payloads: Zigbee ZCL commands packed for GBCS.

Layout (multi-octet header fields big-endian; ZCL payloads little-endian)::

    01 09                   profile id (Smart Energy)
    <count>                 number of GBZ components
    [alerts only: <alert code 2> <time stamp 4, seconds since 2000-01-01Z>]
    per component:
      <control>             bit 0 last component, bit 1 encrypted, bit 4 from-date-time present
      <cluster id 2>
      <length 2>            octets that follow for this component
      [<from date-time 4>]  when bit 4
      [<additional header control> <frame counter>]   when bit 1
      <frame control> <sequence> <command id>          ZCL header
      plain:     <ZCL payload>
      encrypted: <ciphered length 2> <security header 5> <ciphertext> <MAC 12>

A few alerts carry use-case specific octets instead of components (future-dated execution
outcome, firmware distribution receipt, meter integrity warning).
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime

from .datetimes import decode_zcl_time, encode_zcl_time
from .errors import GbcsError
from .reader import Reader
from .records import frozen, record
from .zcl_ids import (
    CMD_DEFAULT_RESPONSE,
    CMD_READ_ATTRIBUTES_RESPONSE,
    FRAME_CLUSTER_SPECIFIC,
    FRAME_MANUFACTURER_SPECIFIC,
    FRAME_SERVER_TO_CLIENT,
)
from .zcl_status import STATUS_SUCCESS

GBZ_PROFILE_ID = 0x0109
CONTROL_LAST = 0x01
CONTROL_ENCRYPTED = 0x02
CONTROL_FROM_DATE_TIME = 0x10

ENCRYPTED_HEADER_LENGTH = 2
SECURITY_HEADER_LENGTH = 5
MAC_LENGTH = 12

#: Alerts whose GBZ payload carries these many use-case specific octets, not components.
ALERT_SPECIFIC_LENGTHS = {0x81A0: 2, 0x8F66: 15, 0x8F67: 15, 0x8F1C: 34, 0x8F72: 34}


@record
class ZclFrame:
    frame_control: int
    sequence: int
    command_id: int
    payload: bytes = b""
    manufacturer_code: int | None = None

    @property
    def cluster_specific(self) -> bool:
        return bool(self.frame_control & FRAME_CLUSTER_SPECIFIC)

    @property
    def server_to_client(self) -> bool:
        return bool(self.frame_control & FRAME_SERVER_TO_CLIENT)


@record
class EncryptedContent:
    """A component's ciphered ZCL payload, kept as it came: never decrypted here."""

    additional_control: int
    frame_counter: int
    ciphered: bytes

    @property
    def length(self) -> int:
        return len(self.ciphered)


@record
class GbzComponent:
    control: int
    cluster_id: int
    zcl: ZclFrame
    from_date_time: datetime | None = None
    encrypted: EncryptedContent | None = None
    offset: int = field(default=0, compare=False)
    zcl_offset: int = field(default=0, compare=False)
    payload_offset: int = field(default=0, compare=False)
    from_date_time_raw: int | None = field(default=None, compare=False)

    @property
    def is_encrypted(self) -> bool:
        return bool(self.control & CONTROL_ENCRYPTED)


@record
class GbzPayload:
    profile_id: int
    components: list[GbzComponent]
    alert_code: int | None = None
    alert_time: datetime | None = None
    alert_specific: bytes | None = None
    declared_count: int = 0


def parse_gbz(payload: bytes) -> list[GbzComponent]:
    """The components of a command or response GBZ payload."""
    return parse_gbz_payload(payload).components


def parse_gbz_payload(
    data: bytes, *, alert: bool = False, offset: int = 0, end: int | None = None
) -> GbzPayload:
    """Parse the GBZ payload in ``data[offset:end]``; offsets in the result index ``data``.

    With ``alert`` the alert code and time stamp follow the component count.
    """
    reader = Reader(bytes(data), offset, end)
    profile = reader.uint(2, "GBZ profile id")
    if profile != GBZ_PROFILE_ID:
        raise reader.fail("GBZ profile id 0x0109", f"0x{profile:04X}", offset=reader.pos - 2)
    count = reader.u8("number of GBZ components")
    alert_code = alert_time = alert_specific = None
    if alert:
        alert_code = reader.uint(2, "alert code")
        alert_time = decode_zcl_time(reader.uint(4, "alert time stamp"))
        specific = ALERT_SPECIFIC_LENGTHS.get(alert_code)
        if specific is not None:
            alert_specific = reader.take(specific, "alert specific content")
            count_to_read = 0
        else:
            count_to_read = count
    else:
        count_to_read = count
    components = []
    for _ in range(count_to_read):
        usual = _read_usual_component(reader.data, reader.pos, reader.end)
        if usual is None:
            components.append(read_component(reader))
        else:
            component, reader.pos = usual
            components.append(component)
    if not reader.at_end:
        raise reader.fail("end of GBZ payload", f"{reader.remaining} more byte(s)")
    return frozen(
        GbzPayload,
        {
            "profile_id": profile,
            "components": components,
            "alert_code": alert_code,
            "alert_time": alert_time,
            "alert_specific": alert_specific,
            "declared_count": count,
        },
    )


def _read_usual_component(data: bytes, pos: int, end: int) -> tuple[GbzComponent, int] | None:
    """The component at ``pos`` read in one go, with the offset after it, when it is valid;
    None otherwise, and :func:`read_component` reads (or rejects) it field by field."""
    stop = pos + 5
    if stop > end:
        return None
    control = data[pos]
    stop += data[pos + 3] << 8 | data[pos + 4]
    if stop > end:
        return None
    cursor = pos + 5
    from_raw = from_date_time = None
    if control & CONTROL_FROM_DATE_TIME:
        if stop - cursor < 4:
            return None
        from_raw = int.from_bytes(data[cursor : cursor + 4], "big")
        from_date_time = decode_zcl_time(from_raw)
        cursor += 4
    encrypted_header = control & CONTROL_ENCRYPTED
    if encrypted_header:
        cursor += 2
    zcl_offset = cursor
    if stop - cursor < 3:
        return None
    frame_control = data[cursor]
    manufacturer = None
    if frame_control & FRAME_MANUFACTURER_SPECIFIC:
        if stop - cursor < 5:
            return None
        manufacturer = data[cursor + 1] | data[cursor + 2] << 8
        cursor += 2
    sequence = data[cursor + 1]
    command_id = data[cursor + 2]
    payload_offset = cursor + 3
    encrypted = None
    if encrypted_header:
        ciphered_length = stop - payload_offset - 2
        if (
            ciphered_length < SECURITY_HEADER_LENGTH + MAC_LENGTH
            or ciphered_length != data[payload_offset] << 8 | data[payload_offset + 1]
        ):
            return None
        payload_offset += 2
        encrypted = frozen(
            EncryptedContent,
            {
                "additional_control": data[zcl_offset - 2],
                "frame_counter": data[zcl_offset - 1],
                "ciphered": data[payload_offset:stop],
            },
        )
        zcl_payload = b""
    else:
        zcl_payload = data[payload_offset:stop]
    frame = frozen(
        ZclFrame,
        {
            "frame_control": frame_control,
            "sequence": sequence,
            "command_id": command_id,
            "payload": zcl_payload,
            "manufacturer_code": manufacturer,
        },
    )
    component = frozen(
        GbzComponent,
        {
            "control": control,
            "cluster_id": data[pos + 1] << 8 | data[pos + 2],
            "zcl": frame,
            "from_date_time": from_date_time,
            "encrypted": encrypted,
            "offset": pos,
            "zcl_offset": zcl_offset,
            "payload_offset": payload_offset,
            "from_date_time_raw": from_raw,
        },
    )
    return component, stop


def read_component(reader: Reader) -> GbzComponent:
    start = reader.pos
    control = reader.u8("GBZ component control field")
    cluster_id = reader.uint(2, "cluster id")
    length = reader.uint(2, "GBZ component length")
    body = reader.sub(length, "GBZ component")
    from_raw = None
    from_date_time = None
    if control & CONTROL_FROM_DATE_TIME:
        from_raw = body.uint(4, "from date-time")
        from_date_time = decode_zcl_time(from_raw)
    encrypted_header = None
    if control & CONTROL_ENCRYPTED:
        encrypted_header = (
            body.u8("additional header control"),
            body.u8("additional header frame counter"),
        )
    zcl_offset = body.pos
    frame_control = body.u8("ZCL frame control")
    manufacturer = None
    if frame_control & FRAME_MANUFACTURER_SPECIFIC:
        manufacturer = body.uint(2, "manufacturer code", little=True)
    sequence = body.u8("ZCL sequence number")
    command_id = body.u8("ZCL command id")
    encrypted = None
    payload_offset = body.pos
    if encrypted_header is not None:
        ciphered_length = body.uint(2, "ciphered information length")
        if ciphered_length < SECURITY_HEADER_LENGTH + MAC_LENGTH:
            raise body.fail(
                "ciphered information of at least 17 bytes", str(ciphered_length), body.pos - 2
            )
        payload_offset = body.pos
        ciphered = body.take(ciphered_length, "ciphered information")
        encrypted = EncryptedContent(encrypted_header[0], encrypted_header[1], ciphered)
        if not body.at_end:
            raise body.fail("end of encrypted GBZ component", f"{body.remaining} more byte(s)")
        zcl_payload = b""
    else:
        zcl_payload = body.rest()
    return GbzComponent(
        control=control,
        cluster_id=cluster_id,
        zcl=ZclFrame(frame_control, sequence, command_id, zcl_payload, manufacturer),
        from_date_time=from_date_time,
        encrypted=encrypted,
        offset=start,
        zcl_offset=zcl_offset,
        payload_offset=payload_offset,
        from_date_time_raw=from_raw,
    )


def build_gbz(
    components: list[GbzComponent],
    *,
    alert_code: int | None = None,
    alert_time: datetime | None = None,
    alert_specific: bytes | None = None,
    mark_last: bool = True,
) -> bytes:
    """Encode a GBZ payload. With ``mark_last`` the last component gets control bit 0."""
    count = len(components) if alert_specific is None else 1
    out = bytearray(GBZ_PROFILE_ID.to_bytes(2, "big"))
    out.append(count)
    if alert_code is not None:
        out += alert_code.to_bytes(2, "big") + encode_zcl_time(alert_time).to_bytes(4, "big")
        if alert_specific is not None:
            return bytes(out + alert_specific)
    for index, component in enumerate(components):
        last = mark_last and index == len(components) - 1
        out += encode_component(component, last=last)
    return bytes(out)


def encode_component(component: GbzComponent, *, last: bool = False) -> bytes:
    control = component.control | (CONTROL_LAST if last else 0)
    if component.from_date_time is not None or component.from_date_time_raw is not None:
        control |= CONTROL_FROM_DATE_TIME
    if component.encrypted is not None:
        control |= CONTROL_ENCRYPTED
    body = bytearray()
    if control & CONTROL_FROM_DATE_TIME:
        raw = component.from_date_time_raw
        if raw is None or decode_zcl_time(raw) != component.from_date_time:
            raw = encode_zcl_time(component.from_date_time)
        body += raw.to_bytes(4, "big")
    if component.encrypted is not None:
        body += bytes([component.encrypted.additional_control, component.encrypted.frame_counter])
    body += encode_zcl_header(component.zcl)
    if component.encrypted is not None:
        body += len(component.encrypted.ciphered).to_bytes(2, "big") + component.encrypted.ciphered
    else:
        body += component.zcl.payload
    if len(body) > 0xFFFF:
        raise ValueError("GBZ component too long")
    return (
        bytes([control])
        + component.cluster_id.to_bytes(2, "big")
        + len(body).to_bytes(2, "big")
        + bytes(body)
    )


def encode_zcl_header(frame: ZclFrame) -> bytes:
    out = bytearray([frame.frame_control])
    if frame.frame_control & FRAME_MANUFACTURER_SPECIFIC:
        out += (frame.manufacturer_code or 0).to_bytes(2, "little")
    out += bytes([frame.sequence, frame.command_id])
    return bytes(out)


def default_response(
    command: GbzComponent, status: int = STATUS_SUCCESS, *, control: int = 0
) -> GbzComponent:
    """A ZCL Default Response (command 0x0B) answering ``command``."""
    frame = ZclFrame(
        frame_control=FRAME_SERVER_TO_CLIENT,
        sequence=command.zcl.sequence,
        command_id=CMD_DEFAULT_RESPONSE,
        payload=bytes([command.zcl.command_id, status]),
    )
    return GbzComponent(control=control, cluster_id=command.cluster_id, zcl=frame)


@record
class AttributeRecord:
    """One record of a Read Attributes Response; ``value`` is the ZCL-encoded octets."""

    attribute_id: int
    status: int = STATUS_SUCCESS
    data_type: int | None = None
    value: bytes = b""


def read_attributes_response(
    command: GbzComponent, records: list[AttributeRecord], *, control: int = 0
) -> GbzComponent:
    """A ZCL Read Attributes Response (command 0x01) answering a Read Attributes command."""
    payload = bytearray()
    for each in records:
        payload += each.attribute_id.to_bytes(2, "little") + bytes([each.status])
        if each.status == STATUS_SUCCESS:
            if each.data_type is None:
                raise ValueError("a successful attribute record needs a data type")
            payload += bytes([each.data_type]) + each.value
    frame = ZclFrame(
        frame_control=FRAME_SERVER_TO_CLIENT,
        sequence=command.zcl.sequence,
        command_id=CMD_READ_ATTRIBUTES_RESPONSE,
        payload=bytes(payload),
    )
    return GbzComponent(control=control, cluster_id=command.cluster_id, zcl=frame)


def read_attribute_ids(frame: ZclFrame) -> list[int]:
    """The attribute ids asked for by a Read Attributes command."""
    if len(frame.payload) % 2:
        raise GbcsError(0, "an even number of octets of attribute ids")
    return [
        int.from_bytes(frame.payload[i : i + 2], "little") for i in range(0, len(frame.payload), 2)
    ]
