"""Building frozen dataclass instances on the parsers' fast paths."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")

_new = object.__new__


def frozen(cls: type[T], fields: dict[str, Any]) -> T:
    """An instance of the frozen dataclass ``cls`` holding ``fields``, which must name every
    field: equal to ``cls(**fields)``, and as frozen.

    The ``__init__`` a frozen dataclass is given sets each field through
    ``object.__setattr__``, which costs more than reading the field from the message; this
    fills the instance's ``__dict__`` in one step instead. (No ``__post_init__`` is run: the
    classes built here have none.)
    """
    instance = _new(cls)
    instance.__dict__.update(fields)
    return instance
