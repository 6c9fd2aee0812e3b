"""The description tree: named nodes with values and absolute byte ranges."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Node:
    name: str
    value: str | None
    offset: int
    length: int
    children: list[Node] = field(default_factory=list)

    def add(self, child: Node) -> Node:
        self.children.append(child)
        return child

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "offset": self.offset,
            "length": self.length,
            "children": [child.to_dict() for child in self.children],
        }


@dataclass
class Withheld:
    name: str
    offset: int
    length: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "offset": self.offset, "length": self.length}


@dataclass
class ViewContext:
    """What a payload view collects besides its nodes: the parts it withheld."""

    withheld: list[Withheld] = field(default_factory=list)
    #: True once anything was withheld because it is encrypted.
    encrypted: bool = False

    def withhold(self, name: str, offset: int, length: int, why: str = "withheld") -> Node:
        self.withheld.append(Withheld(name, offset, length))
        if why.startswith("encrypted"):
            self.encrypted = True
        return Node(name, f"{why} ({length} bytes)", offset, length)


def hex_text(data: bytes) -> str:
    return data.hex().upper()


def printable(data: bytes) -> str | None:
    """The bytes as text when they are all printable ASCII, else None."""
    if data and all(0x20 <= b < 0x7F for b in data):
        return data.decode("ascii")
    return None
