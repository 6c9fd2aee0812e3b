"""DUIS: the supplier's XML interface to the DCC, as far as the HHT meets it.

Reading the local commands the DCC returns (Command Variants 2, 3, 6, 7), writing
what the HHT hands back (8.13 and 8.14.1/8.14.2), and DUIS XML signatures.
Everything read is untrusted: :func:`safe_parse` refuses DTDs and entities.
"""

from webapp.duis.errors import DuisError
from webapp.duis.ids import format_eui, format_request_id, parse_eui, parse_request_id
from webapp.duis.local_command import LocalCommand, build_local_command, parse_local_command
from webapp.duis.requests import (
    CHF_INSTALL_TYPES,
    CHF_LOCATIONS,
    PREMISE_TYPES,
    build_hub_install_status,
    build_return_local_command_response,
    parse_request,
)
from webapp.duis.signature import sign_enveloped, verify_enveloped
from webapp.duis.xml import DS_NS, SR_NS, safe_parse

__all__ = [
    "CHF_INSTALL_TYPES",
    "CHF_LOCATIONS",
    "DS_NS",
    "PREMISE_TYPES",
    "SR_NS",
    "DuisError",
    "LocalCommand",
    "build_hub_install_status",
    "build_local_command",
    "build_return_local_command_response",
    "format_eui",
    "format_request_id",
    "parse_eui",
    "parse_local_command",
    "parse_request",
    "parse_request_id",
    "safe_parse",
    "sign_enveloped",
    "verify_enveloped",
]
