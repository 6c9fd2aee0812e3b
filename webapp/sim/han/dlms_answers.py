"""How a simulated meter answers a DLMS COSEM Access-Request: one Access-Response item per
request item, in order.

A set or an action returns null-data and success; a get returns the attribute's value from
the meter's model (its clock, clock status, firmware version and registers), or
object-undefined for an attribute the simulation does not model. Asking the Data Protection
object for protected attributes (ECS17b) returns them as a real meter would: the protection
parameters of the answer in clear, the values encrypted for the supplier under a key the HHT
never holds.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from webapp.gbcs import dlms_build as dlms
from webapp.gbcs.dlms import ACCESS_REQUEST, DlmsData, RequestSpec, format_obis, parse_dlms
from webapp.gbcs.errors import GbcsError
from webapp.sim.command_payloads import (
    CLASS_CLOCK,
    CLASS_DATA,
    CLASS_DATA_PROTECTION,
    CLASS_PROFILE_GENERIC,
    CLASS_REGISTER,
    CLOCK,
    CLOCK_STATUS,
    CLOCK_TIME,
    DATA_VALUE,
    EVENT_LOG,
    FIRMWARE_VERSION,
    GET_PROTECTED_ATTRIBUTES,
    SECURITY_LOG,
    protection_parameters,
)

from .read_context import ReadContext

log = logging.getLogger(__name__)

RESULT_SUCCESS = 0
RESULT_OBJECT_UNDEFINED = 4
CLOCK_STATUS_OK = 0
#: The ciphered content of protected attributes: security control (authenticated and
#: encrypted), invocation counter, ciphertext, then a 12-octet GCM tag.
SECURITY_CONTROL = 0x30
TAG_LENGTH = 12
GCM_TAG_LENGTH = 16
KEY_LENGTH = 16
INVOCATION_MASK = 0xFFFFFFFF
COUNTER_OCTETS = slice(1, 9)  # the originator counter inside a protected transaction id
#: Wh per hour the simulated import register grows by, on average.
IMPORT_WH_PER_HOUR = 400.0

#: Event codes the simulated meter's logs hold (codes seen in RTDS 6.13's answers).
EVENT_LOG_CODES = (0x8F01, 0x8145, 0x8154, 0x8155, 0x8F66)
SECURITY_LOG_CODES = (0x8F0C, 0x8F1C, 0x8F1D)
LOG_ENTRIES = 4
SELECTION_FROM, SELECTION_TO = 1, 2  # in a by-range selection: the range's ends

#: One answer item: (response choice, Data returned, result).
Item = tuple[int, bytes, int]


def dlms_answer(command_payload: bytes, ctx: ReadContext) -> bytes | None:
    """The Access-Response to a DLMS Access-Request, None when the payload is not one."""
    try:
        apdu = parse_dlms(command_payload)
    except GbcsError:
        return None
    if apdu.tag != ACCESS_REQUEST or len(apdu.requests) != len(apdu.data):
        return None
    items = [_answer(spec, data, ctx) for spec, data in zip(apdu.requests, apdu.data, strict=True)]
    return dlms.access_response(apdu.invoke_id, items)


def _answer(spec: RequestSpec, data: DlmsData, ctx: ReadContext) -> Item:
    target = spec.target
    if spec.choice == dlms.ACTION:
        if (target.class_id, target.member_id) == (CLASS_DATA_PROTECTION, GET_PROTECTED_ATTRIBUTES):
            return dlms.ACTION, protected_attributes(data, ctx), RESULT_SUCCESS
        return dlms.ACTION, dlms.null_data(), RESULT_SUCCESS
    if spec.choice == dlms.SET:
        return dlms.SET, dlms.null_data(), RESULT_SUCCESS
    if spec.choice == dlms.GET_WITH_SELECTION:
        log_name = _LOGS.get((target.class_id, format_obis(target.instance), target.member_id))
        if log_name is None or target.selection is None:
            return dlms.GET, dlms.null_data(), RESULT_OBJECT_UNDEFINED
        return dlms.GET, log_entries(log_name, target.selection, ctx), RESULT_SUCCESS
    reader = _GETS.get((target.class_id, format_obis(target.instance), target.member_id))
    if reader is None:
        return dlms.GET, dlms.null_data(), RESULT_OBJECT_UNDEFINED
    return dlms.GET, reader(ctx), RESULT_SUCCESS


def _clock_time(ctx: ReadContext) -> bytes:
    return dlms.date_time(datetime.fromtimestamp(ctx.now, UTC).replace(microsecond=0))


def _clock_status(ctx: ReadContext) -> bytes:
    return dlms.unsigned(CLOCK_STATUS_OK)


def firmware_version(ctx: ReadContext) -> bytes:
    """The meter's firmware version: four octets, the same for the same meter."""
    build = int(ctx.fraction("firmware") * 0x20)
    return (0x02010000 + build).to_bytes(4, "big")


def _firmware(ctx: ReadContext) -> bytes:
    return dlms.octet_string(firmware_version(ctx))


def _import_register(ctx: ReadContext) -> bytes:
    return dlms.double_long_unsigned(ctx.register("import", IMPORT_WH_PER_HOUR) % (1 << 32))


_GETS: dict[tuple[int, str, int], Callable[[ReadContext], bytes]] = {
    (CLASS_CLOCK, CLOCK, CLOCK_TIME): _clock_time,
    (CLASS_CLOCK, CLOCK, CLOCK_STATUS): _clock_status,
    (CLASS_DATA, FIRMWARE_VERSION, DATA_VALUE): _firmware,
    (CLASS_REGISTER, "1-0:1.8.0.255", DATA_VALUE): _import_register,
}


_LOGS = {
    (CLASS_PROFILE_GENERIC, EVENT_LOG, 2): "event",
    (CLASS_PROFILE_GENERIC, SECURITY_LOG, 2): "security",
}


def log_entries(log_name: str, selection: DlmsData, ctx: ReadContext) -> bytes:
    """A log's entries within the selection's time range, as a compact array (as RTDS 6.13
    answers): the event log's entries are (time, event code, extra octets), the security
    log's (time, event code)."""
    try:
        start = int(selection.value[SELECTION_FROM].value)
        end = int(selection.value[SELECTION_TO].value)
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        raise GbcsError(selection.offset, "a range of a log") from exc
    codes = EVENT_LOG_CODES if log_name == "event" else SECURITY_LOG_CODES
    span = max(1, end - start)
    rows = []
    for n in range(LOG_ENTRIES):
        at = start + int(span * (n + ctx.fraction(f"{log_name}-log/{n}")) / LOG_ENTRIES)
        code = codes[int(ctx.fraction(f"{log_name}-code/{n}") * len(codes))]
        fields = [dlms.double_long_unsigned(at), dlms.long_unsigned(code)]
        if log_name == "event":
            fields.append(dlms.octet_string(b""))
        rows.append(b"".join(dlms.untagged(f) for f in fields))
    tags = [dlms.DOUBLE_LONG_UNSIGNED, dlms.LONG_UNSIGNED]
    if log_name == "event":
        tags.append(dlms.OCTET_STRING)
    return dlms.compact_array(dlms.structure_type(*tags), rows)


def protected_attributes(request: DlmsData, ctx: ReadContext) -> bytes:
    """structure{protection parameters, ciphered values}: the parameters of the request
    turned round (the meter is now the originator), the register values encrypted."""
    counter, supplier = _transaction(request)
    parameters = protection_parameters(counter, ctx.eui, supplier)
    values = dlms.array([_import_register(ctx)])
    return dlms.structure(parameters, dlms.octet_string(_cipher(values, ctx, counter)))


def _transaction(request: DlmsData) -> tuple[int, str]:
    """The originator counter and the originator of a get_protected_attributes request."""
    try:
        _, parameters = request.value
        options = parameters.value[0].value[1].value
        transaction, originator = options[0].value, options[1].value
        return int.from_bytes(transaction[COUNTER_OCTETS], "big"), originator.hex().upper()
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        raise GbcsError(request.offset, "protection parameters of a protected read") from exc


def _cipher(plain: bytes, ctx: ReadContext, counter: int) -> bytes:
    """AES-GCM under the meter's simulated key agreed with the supplier."""
    key = hashlib.sha256(f"hht-sim-protected:{ctx.eui}".encode()).digest()[:KEY_LENGTH]
    invocation = (counter & INVOCATION_MASK).to_bytes(4, "big")
    nonce = bytes.fromhex(ctx.eui) + invocation
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    sealed = AESGCM(key).encrypt(nonce, plain, bytes([SECURITY_CONTROL]))
    body, tag = sealed[:-GCM_TAG_LENGTH], sealed[-GCM_TAG_LENGTH:]
    return bytes([SECURITY_CONTROL]) + invocation + body + tag[:TAG_LENGTH]
