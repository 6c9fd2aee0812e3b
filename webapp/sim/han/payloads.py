"""The payloads of the simulated devices' responses, in the kind of the command answered.

A GBZ command is answered component by component: a ZCL Read Attributes command gets a Read
Attributes Response with plausible values (UNSUPPORTED_ATTRIBUTE for attributes the sim does
not model), Write Attributes a Write Attributes Response (all written), anything else (the
Calendar and Price publish commands of GCS01a, say) a Default Response.  A DLMS COSEM
Access-Request gets an Access-Response item by item (:mod:`.dlms_answers`). A command whose
payload is neither is answered with one synthetic GBZ component chosen by message code (a
read for the read use cases below, else a Default Response).

Use cases whose responses are ASN.1 (``webapp.gbcs.payload.ASN1_MESSAGE_CODES``: joins,
credentials, GCS28 ...) are answered with the bare result INTEGER, 0 for success.

Rejections (see :mod:`webapp.sim.han.devices`) say why with a ZCL status: DUPLICATE_EXISTS
for a counter not above the last accepted one, always as one GBZ ZCL Default Response
whatever the use case, so the HHT recognises it in one way; NOT_AUTHORIZED for a missing
or wrong MAC, as a Default Response, or as the result INTEGER for ASN.1 use cases.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from webapp.gbcs import der_build as der
from webapp.gbcs.datetimes import ZCL_EPOCH
from webapp.gbcs.errors import GbcsError
from webapp.gbcs.gbz import (
    AttributeRecord,
    GbzComponent,
    ZclFrame,
    build_gbz,
    default_response,
    parse_gbz,
    read_attribute_ids,
    read_attributes_response,
)
from webapp.gbcs.payload import ASN1_MESSAGE_CODES
from webapp.gbcs.zcl_ids import (
    CLUSTER_BASIC,
    CLUSTER_METERING,
    CLUSTER_OTA,
    CLUSTER_PREPAYMENT,
    CLUSTER_PRICE,
    CLUSTER_TIME,
    CMD_READ_ATTRIBUTES,
    CMD_WRITE_ATTRIBUTES,
    CMD_WRITE_ATTRIBUTES_RESPONSE,
    FRAME_CLUSTER_SPECIFIC,
    FRAME_SERVER_TO_CLIENT,
    TYPE_CHAR_STRING,
    TYPE_ENUM8,
    TYPE_INT24,
    TYPE_UINT8,
    TYPE_UINT24,
    TYPE_UINT32,
    TYPE_UINT48,
    TYPE_UTC_TIME,
)
from webapp.gbcs.zcl_status import (
    STATUS_DUPLICATE_EXISTS,
    STATUS_SUCCESS,
    STATUS_UNSUPPORTED_ATTRIBUTE,
)

from .dlms_answers import dlms_answer
from .read_context import ReadContext

__all__ = ["ReadContext", "rejection_payload", "success_payload"]

log = logging.getLogger(__name__)

MESSAGE_CODE_GCS28 = 0x007F
RESULT_SUCCESS = 0  # an ASN.1 response code
TIME_RELIABLE = 0  # GCS28 Device Time Status
GBZ_PREFIX = b"\x01\x09"


def _uint(size: int) -> Callable[[int], bytes]:
    return lambda value: (value % (1 << (8 * size))).to_bytes(size, "little")


def _int24(value: int) -> bytes:
    return value.to_bytes(3, "little", signed=True)


def _text(text: str) -> bytes:
    raw = text.encode()
    return bytes([len(raw)]) + raw


def _metering(ctx: ReadContext, attribute: int) -> AttributeRecord | None:
    gas = ctx.kind == "gsme"
    if attribute == 0x0000:  # CurrentSummationDelivered (Wh, or litres of gas)
        value = ctx.register("import", 90.0 if gas else 400.0)
        return AttributeRecord(attribute, STATUS_SUCCESS, TYPE_UINT48, _uint(6)(value))
    if attribute == 0x0001:  # CurrentSummationReceived
        value = 0 if gas else ctx.register("export", 20.0)
        return AttributeRecord(attribute, STATUS_SUCCESS, TYPE_UINT48, _uint(6)(value))
    if 0x0100 <= attribute <= 0x01FF and attribute % 2 == 0:  # CurrentTierNSummationDelivered
        value = ctx.register(f"tier{attribute:04X}", 60.0 if gas else 150.0)
        return AttributeRecord(attribute, STATUS_SUCCESS, TYPE_UINT48, _uint(6)(value))
    if attribute == 0x0300:  # UnitOfMeasure: kWh / m3
        return AttributeRecord(attribute, STATUS_SUCCESS, TYPE_ENUM8, bytes([1 if gas else 0]))
    if attribute == 0x0301:  # Multiplier
        return AttributeRecord(attribute, STATUS_SUCCESS, TYPE_UINT24, _uint(3)(1))
    if attribute == 0x0302:  # Divisor
        return AttributeRecord(attribute, STATUS_SUCCESS, TYPE_UINT24, _uint(3)(1000))
    if attribute == 0x0400:  # InstantaneousDemand (W)
        demand = 0 if gas else 150 + int(ctx.fraction(f"demand{int(ctx.now) // 60}") * 2850)
        return AttributeRecord(attribute, STATUS_SUCCESS, TYPE_INT24, _int24(demand))
    return None


def _basic(ctx: ReadContext, attribute: int) -> AttributeRecord | None:
    mains = ctx.kind != "gsme"
    numbers = {
        0x0000: (TYPE_UINT8, 0x03),  # ZCLVersion
        0x0001: (TYPE_UINT8, 0x02),  # ApplicationVersion
        0x0002: (TYPE_UINT8, 0x05),  # StackVersion
        0x0003: (TYPE_UINT8, 0x01),  # HWVersion
        0x0007: (TYPE_ENUM8, 0x01 if mains else 0x03),  # PowerSource: mains / battery
    }
    texts = {
        0x0004: "HHT-SIM",  # ManufacturerName
        0x0005: f"SIM-{ctx.kind.upper()}",  # ModelIdentifier
        0x0006: "20240115",  # DateCode
        0x4000: f"{ctx.kind.upper()}-2.1.{int(ctx.fraction('build') * 90) + 10}",  # SWBuildID
    }
    if attribute in numbers:
        data_type, value = numbers[attribute]
        return AttributeRecord(attribute, STATUS_SUCCESS, data_type, bytes([value]))
    if attribute in texts:
        return AttributeRecord(attribute, STATUS_SUCCESS, TYPE_CHAR_STRING, _text(texts[attribute]))
    return None


def _ota(ctx: ReadContext, attribute: int) -> AttributeRecord | None:
    if attribute == 0x0002:  # CurrentFileVersion
        version = 0x02010000 + int(ctx.fraction("firmware") * 0x20)
        return AttributeRecord(attribute, STATUS_SUCCESS, TYPE_UINT32, _uint(4)(version))
    return None


def _time(ctx: ReadContext, attribute: int) -> AttributeRecord | None:
    if attribute == 0x0000:
        seconds = max(0, int(ctx.now - ZCL_EPOCH.timestamp()))
        return AttributeRecord(attribute, STATUS_SUCCESS, TYPE_UTC_TIME, _uint(4)(seconds))
    return None


_ATTRIBUTES: dict[int, Callable[[ReadContext, int], AttributeRecord | None]] = {
    CLUSTER_BASIC: _basic,
    CLUSTER_TIME: _time,
    CLUSTER_OTA: _ota,
    CLUSTER_METERING: _metering,
}

#: Read use cases answered with attribute values when the command is neither GBZ nor DLMS.
READS: dict[int, tuple[int, tuple[int, ...]]] = {
    0x0026: (CLUSTER_METERING, (0x0001,)),  # ECS17a export register
    0x0027: (CLUSTER_METERING, (0x0000,)),  # ECS17b import register
    0x0028: (CLUSTER_METERING, (0x0400,)),  # ECS17c power
    0x0029: (CLUSTER_METERING, (0x0100, 0x0102, 0x0104, 0x0106)),  # ECS17d TOU
    0x002A: (CLUSTER_METERING, (0x0100, 0x0102, 0x0104, 0x0106)),  # ECS17e
    0x0059: (CLUSTER_OTA, (0x0002,)),  # ECS52 firmware version
    0x0074: (CLUSTER_METERING, (0x0000, 0x0300, 0x0301, 0x0302)),  # GCS13a
    0x0084: (CLUSTER_OTA, (0x0002,)),  # GCS38 firmware version
    0x00B6: (CLUSTER_METERING, (0x0100, 0x0102, 0x0104, 0x0106)),  # GCS13c TOU
}

#: Cluster of the synthetic Default Response for other commands that are neither (and of
#: every rejection of a DLMS command: a rejection is always one GBZ Default Response).
CLUSTERS: dict[int, int] = {
    0x0019: CLUSTER_PRICE,  # ECS01a
    0x00A2: CLUSTER_PRICE,  # ECS01b
    0x0062: CLUSTER_TIME,  # ECS70 set clock on ESME
    0x007F: CLUSTER_TIME,  # GCS28 set clock on GSME
    0x001C: CLUSTER_PREPAYMENT,  # ECS04a adjust balance
}


def attribute_record(ctx: ReadContext, cluster: int, attribute: int) -> AttributeRecord:
    maker = _ATTRIBUTES.get(cluster)
    record = maker(ctx, attribute) if maker else None
    return record or AttributeRecord(attribute, STATUS_UNSUPPORTED_ATTRIBUTE)


def command_components(payload: bytes) -> list[GbzComponent] | None:
    """The GBZ components of a command payload, or None when it is not (valid) GBZ."""
    if not payload.startswith(GBZ_PREFIX):
        return None
    try:
        return parse_gbz(payload)
    except GbcsError:
        return None


def _synthetic_command(message_code: int) -> GbzComponent:
    if message_code in READS:
        cluster, attributes = READS[message_code]
        ids = b"".join(a.to_bytes(2, "little") for a in attributes)
        return GbzComponent(0, cluster, ZclFrame(0x00, 0, CMD_READ_ATTRIBUTES, ids))
    cluster = CLUSTERS.get(message_code, CLUSTER_BASIC)
    return GbzComponent(0, cluster, ZclFrame(FRAME_CLUSTER_SPECIFIC, 0, 0x00))


def _answer(component: GbzComponent, ctx: ReadContext) -> GbzComponent:
    zcl = component.zcl
    if not zcl.cluster_specific and zcl.command_id == CMD_READ_ATTRIBUTES:
        try:
            ids = read_attribute_ids(zcl)
        except GbcsError:
            return default_response(component, 0x80)  # MALFORMED_COMMAND
        records = [attribute_record(ctx, component.cluster_id, a) for a in ids]
        return read_attributes_response(component, records)
    if not zcl.cluster_specific and zcl.command_id == CMD_WRITE_ATTRIBUTES:
        frame = ZclFrame(
            FRAME_SERVER_TO_CLIENT, zcl.sequence, CMD_WRITE_ATTRIBUTES_RESPONSE, bytes([0x00])
        )
        return GbzComponent(control=0, cluster_id=component.cluster_id, zcl=frame)
    return default_response(component, STATUS_SUCCESS)


def set_gsme_clock_response(ctx: ReadContext) -> bytes:
    """GCS28 Set Time Response: the device's time now and "Reliable" (0)."""
    now = datetime.fromtimestamp(ctx.now, UTC)
    return der.sequence(der.generalized_time(now), der.integer(TIME_RELIABLE))


def success_payload(message_code: int, command_payload: bytes, ctx: ReadContext) -> bytes:
    """The payload of a device's answer to a command it executed, in the command's kind."""
    if message_code == MESSAGE_CODE_GCS28:
        return set_gsme_clock_response(ctx)
    if message_code in ASN1_MESSAGE_CODES:
        return der.integer(RESULT_SUCCESS)
    components = command_components(command_payload)
    if components is None:
        answer = dlms_answer(command_payload, ctx)
        if answer is not None:
            return answer
        components = [_synthetic_command(message_code)]
    return build_gbz([_answer(c, ctx) for c in components])


def rejection_payload(message_code: int, command_payload: bytes, status: int) -> bytes:
    if message_code in ASN1_MESSAGE_CODES and status != STATUS_DUPLICATE_EXISTS:
        return der.integer(status)
    components = command_components(command_payload) or [_synthetic_command(message_code)]
    return build_gbz([default_response(components[0], status)])
