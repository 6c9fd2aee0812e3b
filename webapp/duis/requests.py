"""DUIS requests the HHT hands back (Command Variant 8, non-device service requests):
8.13 Return Local Command Response and 8.14.1/8.14.2 hub install status."""

from __future__ import annotations

import base64
from typing import Any

from webapp.duis.errors import DuisError
from webapp.duis.ids import format_eui, parse_request_id
from webapp.duis.xml import add, child_text, new_root, only_child, q, safe_parse, serialise

NON_DEVICE_VARIANT = "8"
CHF_INSTALL_TYPES = ("New CHF Install", "Replacement CHF Install", "CHF Install - no SM WAN")
CHF_LOCATIONS = (
    "Outside Premises",
    "Indoors on external wall",
    "Deep indoors",
    "Basement or Cellar",
)
PREMISE_TYPES = (
    "Detached / Semi Detached",
    "Terraced",
    "Low Rise Apartment (MDU <= 5 floors)",
    "High Rise Apartment (MDU > 5 floors)",
)
HUB_STATUS_BODIES = {"8.14.1": "CHFInstallSuccessSMWAN", "8.14.2": "CHFInstallSuccessNoSMWAN"}
MAX_MPXN = 13
MAX_USER_REF = 25
MAX_ADDITIONAL = 200


def _request(request_id: str, reference: str, variant: str):  # type: ignore[no-untyped-def]
    parse_request_id(request_id)
    root = new_root("Request")
    header = add(root, "Header")
    add(header, "RequestID", request_id)
    add(header, "CommandVariant", NON_DEVICE_VARIANT)
    add(header, "ServiceReference", reference)
    add(header, "ServiceReferenceVariant", variant)
    return root, add(root, "Body")


def build_return_local_command_response(
    request_id: str, original_request_id: str | None, device_gbcs_response: bytes
) -> bytes:
    """Service request 8.13: a device's response to a locally delivered command."""
    if not device_gbcs_response:
        raise DuisError("DUIS 8.13: DeviceGBCSResponse is empty")
    root, body = _request(request_id, "8.13", "8.13")
    element = add(body, "ReturnLocalCommandResponse")
    if original_request_id:
        parse_request_id(original_request_id)
        add(element, "OriginalRequestID", original_request_id)
    add(element, "DeviceGBCSResponse", base64.b64encode(device_gbcs_response).decode())
    return serialise(root)


def _choice(value: str | None, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise DuisError(f"DUIS 8.14: {field} {value!r} is not one of: {'; '.join(allowed)}")
    return value


def build_hub_install_status(
    request_id: str,
    variant: str,
    device_id_hex: str,
    mpxn: str,
    *,
    install_type: str,
    chf_location: str,
    aerial_install: bool,
    install_datetime: str | None = None,
    user_ref: str | None = None,
    premise_type: str | None = None,
    metal_obstruction: bool = False,
    connectivity_obstruction: bool = False,
    shared_obstruction: bool = False,
    additional_information: str | None = None,
) -> bytes:
    """8.14.1 (hub installed, SM WAN) or 8.14.2 (installed, no SM WAN), fields in schema order."""
    if variant not in HUB_STATUS_BODIES:
        raise DuisError(f"DUIS 8.14: variant {variant!r} is not 8.14.1 or 8.14.2")
    _choice(install_type, CHF_INSTALL_TYPES, "CHFInstallType")
    _choice(chf_location, CHF_LOCATIONS, "CHFLocation")
    if not 1 <= len(mpxn) <= MAX_MPXN:
        raise DuisError(f"DUIS 8.14: MPxN must be 1 to {MAX_MPXN} characters")
    if user_ref is not None and len(user_ref) > MAX_USER_REF:
        raise DuisError(f"DUIS 8.14: UserRefID is over {MAX_USER_REF} characters")
    if additional_information is not None and len(additional_information) > MAX_ADDITIONAL:
        raise DuisError(f"DUIS 8.14: AdditionalInformation is over {MAX_ADDITIONAL} characters")
    no_wan = variant == "8.14.2"
    if no_wan:
        _choice(premise_type, PREMISE_TYPES, "PremiseType")
    root, body = _request(request_id, "8.14", variant)
    element = add(body, HUB_STATUS_BODIES[variant])
    add(element, "DeviceID", format_eui(device_id_hex))
    add(element, "CHFInstallType", install_type)
    if install_datetime:
        add(element, "InstallDateTime", install_datetime)
    if user_ref:
        add(element, "UserRefID", user_ref)
    add(element, "MPxN", mpxn)
    add(element, "AerialInstall", "true" if aerial_install else "false")
    add(element, "CHFLocation", chf_location)
    if no_wan:
        add(element, "PremiseType", premise_type)
        add(element, "MetalObstructionCheck", "true" if metal_obstruction else "false")
        add(
            element, "ConnectivityObstructionCheck", "true" if connectivity_obstruction else "false"
        )
        add(element, "SharedObstructionCheck", "true" if shared_obstruction else "false")
    if additional_information:
        add(element, "AdditionalInformation", additional_information)
    return serialise(root)


def parse_request(data: bytes) -> dict[str, Any]:
    """Header fields and the body element's name of a DUIS Request (for reading back)."""
    root = safe_parse(data)
    if root.tag != q("Request"):
        raise DuisError(f"DUIS XML: the root is {root.tag}, not sr:Request")
    header = only_child(root, "Header", "sr:Request")
    path = "sr:Request/sr:Header"
    body = only_child(root, "Body", "sr:Request")
    children = [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise DuisError("DUIS XML: sr:Request/sr:Body must hold exactly one element")
    return {
        "request_id": child_text(header, "RequestID", path),
        "command_variant": child_text(header, "CommandVariant", path),
        "service_reference": child_text(header, "ServiceReference", path),
        "service_reference_variant": child_text(header, "ServiceReferenceVariant", path),
        "body": children[0].tag.split("}")[-1],
        "element": children[0],
    }
