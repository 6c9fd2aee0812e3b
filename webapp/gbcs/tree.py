"""The description tree: named nodes with values and absolute byte ranges.

A node is the plain dict :func:`describe` returns, ``{"name", "value", "offset", "length",
"children"}``, built directly by the views (hot paths write the dict literal themselves).
"""

from __future__ import annotations

from typing import Any

#: ``{"name": str, "value": str | None, "offset": int, "length": int, "children": [Node]}``
Node = dict[str, Any]


def node(
    name: str, value: str | None, offset: int, length: int, children: list[Node] | None = None
) -> Node:
    return {
        "name": name,
        "value": value,
        "offset": offset,
        "length": length,
        "children": [] if children is None else children,
    }


class ViewContext:
    """What a payload view collects besides its nodes: the parts it withheld."""

    __slots__ = ("withheld", "encrypted")

    def __init__(self) -> None:
        #: ``{"name", "offset", "length"}`` of each part withheld, in tree order.
        self.withheld: list[dict[str, Any]] = []
        #: True once anything was withheld because it is encrypted.
        self.encrypted = False

    def withhold(self, name: str, offset: int, length: int, why: str = "withheld") -> Node:
        self.withheld.append({"name": name, "offset": offset, "length": length})
        if why.startswith("encrypted"):
            self.encrypted = True
        return {
            "name": name,
            "value": f"{why} ({length} bytes)",
            "offset": offset,
            "length": length,
            "children": [],
        }


def hex_text(data: bytes) -> str:
    return data.hex().upper()


_PRINTABLE = bytes(range(0x20, 0x7F))


def printable(data: bytes) -> str | None:
    """The bytes as text when they are all printable ASCII, else None."""
    if data and not data.translate(None, _PRINTABLE):
        return data.decode("ascii")
    return None
