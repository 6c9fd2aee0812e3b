"""Named GBCS ASN.1 structures: results of security-credential, join and firmware responses."""

from __future__ import annotations

from .asn1 import Asn1Node

SUCCESS = "success"
FAILURE = "failure"
UNKNOWN = "unknown"


def _integer_result(value: int | None, what: str) -> tuple[str, str | None]:
    if value is None:
        return UNKNOWN, f"{what} not found"
    if value == 0:
        return SUCCESS, None
    return FAILURE, f"{what} {value}"


def structured_outcome(code: int, node: Asn1Node) -> tuple[str, str | None]:
    """(status, reason) for an ASN.1 response payload of message code ``code``."""
    children = node.children
    if code == 0x0013 and children and children[0].is_universal(2):  # CS07
        return _integer_result(children[0].integer(), "join details result")
    if code == 0x0129 and children and children[-1].is_universal(2):  # CS08
        return _integer_result(children[-1].integer(), "firmware version result")
    if code == 0x000A and node.is_universal(16):  # CS02c: the issued certificate
        return SUCCESS, None
    return UNKNOWN, None
