"""EUIs and request ids as DUIS writes them: ``90-B3-D5-1F-30-01-00-00:<target>:<counter>``."""

from __future__ import annotations

import re

from webapp.duis.errors import DuisError
from webapp.gbcs.eui import dashed_eui, eui_text

_EUI = r"[A-Fa-f0-9]{2}(?:-[A-Fa-f0-9]{2}){7}"
REQUEST_ID = re.compile(rf"^({_EUI}):({_EUI}):(0|[1-9][0-9]{{0,19}})$")
MAX_COUNTER = 2**64 - 1


def format_eui(hex16: str) -> str:
    """An EUI-64 as DUIS writes it: dashed pairs of upper-case hex digits."""
    return dashed_eui(parse_eui(hex16))


def parse_eui(text: str) -> str:
    """A DUIS EUI-64 as 16 upper-case hex digits; DuisError if it is not one."""
    value = eui_text(text)
    if value is None:
        raise DuisError(f"DUIS: {text[:40]!r} is not an EUI-64")
    return value


def format_request_id(originator_hex: str, target_hex: str, counter: int) -> str:
    if not 0 <= counter <= MAX_COUNTER:
        raise DuisError(f"DUIS: request counter {counter} is out of range")
    return f"{format_eui(originator_hex)}:{format_eui(target_hex)}:{counter}"


def parse_request_id(text: str) -> tuple[str, str, int]:
    """(originator, target, counter) from a DUIS RequestID; DuisError if malformed."""
    match = REQUEST_ID.match(text.strip())
    if not match or int(match.group(3)) > MAX_COUNTER:
        raise DuisError(
            f"DUIS: RequestID {text[:80]!r} is not originator:target:counter "
            "(dashed EUIs, a decimal counter below 2^64 without leading zeros)"
        )
    return parse_eui(match.group(1)), parse_eui(match.group(2)), int(match.group(3))
