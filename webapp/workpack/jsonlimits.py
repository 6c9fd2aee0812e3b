"""Reading untrusted JSON without the decoder's recursion: nesting is measured first.

``json.loads`` descends one Python frame per ``[`` or ``{``, so a document nested a few
thousand levels deep raises RecursionError (not ValueError) from inside the decoder.
:func:`loads_bounded` measures the nesting on the text before decoding and refuses
anything deeper than the caller's cap, so the decoder never goes deeper than that.

The measure: strings are blanked out (a bracket inside a string is text), the rest is
reduced to its brackets, and innermost pairs are removed level by level with
``bytes.replace`` (one pass removes every innermost pair, so a balanced document is
empty after exactly as many passes as it is deep).  Everything runs in C in linear
time, whatever the text: the string pattern's quantifiers are possessive and it also
matches an unterminated string (to the end of the text), so no quote is ever tried
twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

#: A JSON string, or an unterminated one running to the end of the text.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+\\?+(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
#: ``{`` and ``}`` as ``[`` and ``]``: for depth, every opener and every closer is alike.
_AS_SQUARE = str.maketrans({"{": "[", "}": "]"})
_PAIR = b"[]"

UNBALANCED = "its brackets do not balance"


class JsonTooDeep(ValueError):
    """The text nests deeper than the cap, or its brackets do not balance."""


def nesting_problem(text: str, cap: int) -> str | None:
    """Why ``text`` cannot be decoded within ``cap`` levels of nesting; None when it can.

    Brackets that do not balance are a problem too: an unclosed ``[[[[`` run is what
    makes the decoder recurse, however the text ends."""
    skeleton = _NOT_BRACKET.sub("", _STRING.sub("", text))
    remaining = skeleton.translate(_AS_SQUARE).encode("ascii")
    for _ in range(cap):
        if not remaining:
            return None
        shorter = remaining.replace(_PAIR, b"")
        if len(shorter) == len(remaining):
            return UNBALANCED
        remaining = shorter
    if not remaining:
        return None
    return f"it nests deeper than {cap} levels" if _PAIR in remaining else UNBALANCED


def loads_bounded(
    data: bytes,
    max_depth: int,
    *,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """``json.loads`` of UTF-8 ``data``, refused (JsonTooDeep) when nested over ``max_depth``.

    Raises UnicodeDecodeError for bytes that are not UTF-8 and ValueError (JsonTooDeep or
    json's own JSONDecodeError) for anything else wrong; never RecursionError."""
    text = data.decode("utf-8")
    why = nesting_problem(text, max_depth)
    if why is not None:
        raise JsonTooDeep(why)
    return json.loads(text, object_pairs_hook=object_pairs_hook)
