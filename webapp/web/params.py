"""Numbers from the query string, a form or the path, and JSON bodies: the value, or a 400.

Every view that turns request text into an ``int`` does it here, so none of them can
fail with ValueError (``?page=²`` is a digit to ``str.isdigit`` but not to ``int``),
OverflowError (SQLite holds at most 2**63 - 1) or a 500: the text must be ASCII digits,
short enough to be a number at all, and within the bounds the caller gives.  An empty
or absent parameter is the caller's default.  A JSON body is measured for nesting
before it is decoded (the decoder recurses: 100,000 ``[`` were a RecursionError).
"""

from __future__ import annotations

import re
from typing import Any, overload

from flask import abort, g, request

from webapp.workpack.jsonlimits import JsonTooDeep, loads_bounded

#: The largest value an SQLite INTEGER holds (row ids included).
MAX_SQL_INTEGER = 2**63 - 1
#: Digits of MAX_SQL_INTEGER: a longer number is refused before it is converted.
MAX_DIGITS = len(str(MAX_SQL_INTEGER))
MAX_SHOWN = 20  # characters of a bad value repeated in the message
#: The pages' JSON bodies are flat objects with a list or two; far deeper is not theirs.
MAX_JSON_BODY_DEPTH = 8
_DIGITS = re.compile(r"[0-9]+")


def whole_number(text: str, name: str, *, minimum: int = 0, maximum: int = MAX_SQL_INTEGER) -> int:
    """``text`` as a whole number from ``minimum`` to ``maximum``; else abort with 400."""
    value = None
    if len(text) <= MAX_DIGITS and _DIGITS.fullmatch(text):
        value = int(text)
    if value is None or not minimum <= value <= maximum:
        shown = text[:MAX_SHOWN] + ("..." if len(text) > MAX_SHOWN else "")
        abort(
            400,
            f"{name} must be a whole number from {minimum} to {maximum} "
            f"(written with the digits 0-9), not {shown!r}.",
        )
    return value


@overload
def int_arg(name: str, default: int, *, minimum: int = ..., maximum: int = ...) -> int: ...
@overload
def int_arg(
    name: str, default: None = None, *, minimum: int = ..., maximum: int = ...
) -> int | None: ...
def int_arg(
    name: str, default: int | None = None, *, minimum: int = 1, maximum: int = MAX_SQL_INTEGER
) -> int | None:
    """The query parameter ``name`` as a whole number; ``default`` when absent or empty."""
    text = request.args.get(name, "")
    return default if text == "" else whole_number(text, name, minimum=minimum, maximum=maximum)


@overload
def int_form(name: str, default: int, *, minimum: int = ..., maximum: int = ...) -> int: ...
@overload
def int_form(
    name: str, default: None = None, *, minimum: int = ..., maximum: int = ...
) -> int | None: ...
def int_form(
    name: str, default: int | None = None, *, minimum: int = 1, maximum: int = MAX_SQL_INTEGER
) -> int | None:
    """The form field ``name`` as a whole number; ``default`` when absent or empty."""
    text = request.form.get(name, "").strip()
    return default if text == "" else whole_number(text, name, minimum=minimum, maximum=maximum)


def path_id(text: str, name: str) -> int:
    """A row id from the path (routes take it as text, not ``<int:...>``, so a huge or
    non-ASCII number is a 400 here rather than an overflow in SQLite)."""
    return whole_number(text, name, minimum=1)


class BodyRefused(ValueError):
    """A JSON body that cannot be decoded safely; the message says why, for the 400."""


def json_body(max_depth: int = MAX_JSON_BODY_DEPTH) -> Any:
    """The request's JSON body, None when there is none or it is not JSON (as Flask's
    ``get_json(silent=True)``); BodyRefused, saying so, when nested over ``max_depth``."""
    if not request.is_json:
        return None
    if "json_body" not in g:
        try:
            g.json_body = loads_bounded(request.get_data(cache=True), max_depth)
        except JsonTooDeep as exc:
            raise BodyRefused(
                f"The request's JSON is refused: {exc} (the limit is {max_depth})."
            ) from None
        except ValueError:  # UnicodeDecodeError is one
            g.json_body = None
    return g.json_body
