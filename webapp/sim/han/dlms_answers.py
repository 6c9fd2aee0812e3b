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

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from webapp.gbcs import dlms_build as dlms
from webapp.gbcs.dlms import ACCESS_REQUEST, DlmsData, RequestSpec, format_obis, parse_dlms
from webapp.gbcs.errors import GbcsError
from webapp.sim.command_payloads import (
    CLASS_CLOCK,
    CLASS_DATA,
    CLASS_DATA_PROTECTION,
    CLASS_REGISTER,
    CLOCK,
    CLOCK_STATUS,
    CLOCK_TIME,
    DATA_VALUE,
    FIRMWARE_VERSION,
    GET_PROTECTED_ATTRIBUTES,
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
    sealed = AESGCM(key).encrypt(nonce, plain, bytes([SECURITY_CONTROL]))
    body, tag = sealed[:-GCM_TAG_LENGTH], sealed[-GCM_TAG_LENGTH:]
    return bytes([SECURITY_CONTROL]) + invocation + body + tag[:TAG_LENGTH]
