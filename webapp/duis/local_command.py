"""What the DCC returns for local delivery (Command Variants 2, 3, 6, 7)::

sr:Response/sr:Header/{sr:RequestID, sr:ResponseCode, sr:ResponseDateTime}
sr:Response/sr:Body/sr:ResponseMessage/{sr:ServiceReference,
    sr:ServiceReferenceVariant, sr:LocalCommand/sr:GBCSPayload (base64)}
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from webapp.duis.errors import DuisError
from webapp.duis.ids import parse_request_id
from webapp.duis.xml import SR_NS, add, child_text, new_root, only_child, q, safe_parse, serialise

SUCCESS_CODE = "I0"


@dataclass(frozen=True)
class LocalCommand:
    request_id: str
    originator: str
    target: str
    counter: int
    service_reference: str
    service_reference_variant: str
    response_code: str
    response_datetime: str
    gbcs: bytes


def parse_local_command(data: bytes) -> LocalCommand:
    """The local command in a DUIS Response, or DuisError naming what is wrong."""
    root = safe_parse(data)
    if root.tag != q("Response"):
        raise DuisError(f"DUIS XML: the root is {root.tag}, not sr:Response in namespace {SR_NS}")
    header = only_child(root, "Header", "sr:Response")
    request_id = child_text(header, "RequestID", "sr:Response/sr:Header")
    originator, target, counter = parse_request_id(request_id)
    code = child_text(header, "ResponseCode", "sr:Response/sr:Header")
    if code != SUCCESS_CODE:
        raise DuisError(
            f"DUIS XML: ResponseCode {code} (only {SUCCESS_CODE} carries a command to deliver)"
        )
    when = child_text(header, "ResponseDateTime", "sr:Response/sr:Header")
    body = only_child(root, "Body", "sr:Response")
    path = "sr:Response/sr:Body/sr:ResponseMessage"
    message = only_child(body, "ResponseMessage", "sr:Response/sr:Body")
    reference = child_text(message, "ServiceReference", path)
    variant = child_text(message, "ServiceReferenceVariant", path)
    local = only_child(message, "LocalCommand", path)
    payload = child_text(local, "GBCSPayload", f"{path}/sr:LocalCommand")
    try:
        gbcs = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise DuisError(f"DUIS XML: {path}/sr:LocalCommand/sr:GBCSPayload is not base64") from None
    if not gbcs:
        raise DuisError(f"DUIS XML: {path}/sr:LocalCommand/sr:GBCSPayload is empty")
    return LocalCommand(
        request_id, originator, target, counter, reference, variant, code, when, gbcs
    )


def build_local_command(
    request_id: str,
    service_reference: str,
    service_reference_variant: str,
    gbcs: bytes,
    response_datetime: str,
) -> bytes:
    """A DUIS Response carrying ``gbcs`` for local delivery (as the DCC would return it)."""
    parse_request_id(request_id)
    root = new_root("Response")
    header = add(root, "Header")
    add(header, "RequestID", request_id)
    add(header, "ResponseCode", SUCCESS_CODE)
    add(header, "ResponseDateTime", response_datetime)
    message = add(add(root, "Body"), "ResponseMessage")
    add(message, "ServiceReference", service_reference)
    add(message, "ServiceReferenceVariant", service_reference_variant)
    add(add(message, "LocalCommand"), "GBCSPayload", base64.b64encode(gbcs).decode())
    return serialise(root)
