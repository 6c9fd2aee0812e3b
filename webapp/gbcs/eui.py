"""EUI-64s (IEEE extended addresses) as labels, forms and messages write them.

The canonical text of an EUI-64 is 16 upper-case hex digits, most significant first.
People and printers group the digits with dashes, colons, underscores, dots or spaces; those
separators are dropped. :func:`eui_bytes` gives the 8 octets GBCS headers carry.
"""

from __future__ import annotations

import re

EUI64_OCTETS = 8
EUI64_HEX_DIGITS = 2 * EUI64_OCTETS
SEPARATORS = re.compile(r"[\s:\-_.]")
_CANONICAL = re.compile(r"[0-9A-F]{16}")
# 16 hex digits, maybe grouped in pairs, not part of a longer hex run
_IN_TEXT = re.compile(r"(?<![0-9A-F])(?:[0-9A-F]{2}[\s:\-]?){7}[0-9A-F]{2}(?![0-9A-F])")


class EuiError(ValueError):
    """Text or octets that are not an EUI-64; the message says what was given."""


def eui_text(value: object) -> str | None:
    """``value`` as a canonical EUI-64 (separators dropped), or None when it is not one."""
    if not isinstance(value, str):
        return None
    compact = SEPARATORS.sub("", value).upper()
    return compact if _CANONICAL.fullmatch(compact) else None


def strict_eui_text(value: object) -> str | None:
    """``value`` as a canonical EUI-64 when it is exactly 16 hex digits (no separators)."""
    if not isinstance(value, str) or len(value) != EUI64_HEX_DIGITS:
        return None
    return eui_text(value)


def find_eui_text(text: str) -> str | None:
    """The one EUI-64 standing in other text (``GPF:00DB...``), or None for none or several."""
    found = _IN_TEXT.findall(text.upper())
    return SEPARATORS.sub("", found[0]) if len(found) == 1 else None


def require_eui_text(value: str, what: str = "EUI") -> str:
    """``value`` as a canonical EUI-64; EuiError naming ``what`` when it is not one."""
    text = eui_text(value)
    if text is None:
        raise EuiError(f"{what} {str(value)[:40]!r} is not 16 hexadecimal digits")
    return text


def eui_bytes(value: bytes | bytearray | str) -> bytes:
    """An EUI-64 as 8 octets, from octets or hex text (separators allowed); EuiError if not."""
    if isinstance(value, bytes | bytearray):
        octets = bytes(value)
    else:
        try:
            octets = bytes.fromhex(SEPARATORS.sub("", value))
        except ValueError as exc:
            raise EuiError(f"not a hex EUI-64: {value!r}") from exc
    if len(octets) != EUI64_OCTETS:
        raise EuiError(f"an EUI-64 has {EUI64_OCTETS} octets, got {len(octets)}")
    return octets


def dashed_eui(value: str) -> str:
    """A canonical EUI-64 grouped in dashed pairs, as DUIS and device labels print it."""
    return "-".join(value[i : i + 2] for i in range(0, len(value), 2))
