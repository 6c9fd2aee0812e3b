"""The codec's records: frozen dataclasses made without compiling source, and built fast."""

from __future__ import annotations

import reprlib
from collections.abc import Callable
from dataclasses import MISSING, FrozenInstanceError, dataclass, fields
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T")

_new = object.__new__


def record(cls: type[T]) -> type[T]:
    """``@dataclass(frozen=True)``, for the codec's records: the same fields (``fields``,
    ``replace``, ``asdict`` see them), and an ``__init__``, ``__repr__``, ``__eq__``,
    ``__hash__`` and frozen ``__setattr__``/``__delattr__`` that behave as the dataclass ones.

    ``dataclass`` writes each of those six methods as source text and compiles it, about a
    sixth of a millisecond apiece: for the codec's 26 records, a fifth of what a one-shot
    ``hht parse`` spends. Here they are closures over the field names, made at once (and
    compiled with the codec). Fields may have defaults, default factories, ``repr=False``
    and ``compare=False``; anything else a record would need is refused.
    """
    cls = dataclass(init=False, repr=False, eq=False)(cls)
    record_fields = fields(cls)
    for each in record_fields:
        if not each.init or each.kw_only is True or each.hash is not None:
            raise TypeError(f"{cls.__name__}.{each.name}: a record field cannot be so declared")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: a record has no __post_init__")
    names = tuple(each.name for each in record_fields)
    compared = _values([each.name for each in record_fields if each.compare])
    methods = {
        "__init__": _init(cls, record_fields),
        "__repr__": _repr([each.name for each in record_fields if each.repr]),
        "__eq__": _eq(compared),
        "__hash__": _hash(compared),
        "__setattr__": _frozen(cls, names, "assign to"),
        "__delattr__": _frozen(cls, names, "delete"),
    }
    for name, method in methods.items():
        setattr(cls, name, method)
    return cls


def _values(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of ``names``' values of a record (what equality and hashing compare)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        only = names[0]
        return lambda self: (getattr(self, only),)
    return lambda self: ()


def _init(cls: type, record_fields: tuple[Any, ...]) -> Callable[..., None]:
    names = tuple(each.name for each in record_fields)
    defaults = {each.name: each.default for each in record_fields if each.default is not MISSING}
    factories = {
        each.name: each.default_factory
        for each in record_fields
        if each.default_factory is not MISSING
    }
    title = f"{cls.__qualname__}.__init__()"

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"{title} takes {len(names) + 1} positional arguments")
        state = self.__dict__
        used = 0
        for index, name in enumerate(names):
            if index < len(args):
                if name in kwargs:
                    raise TypeError(f"{title} got multiple values for argument {name!r}")
                state[name] = args[index]
            elif name in kwargs:
                state[name] = kwargs[name]
                used += 1
            elif name in defaults:
                state[name] = defaults[name]
            elif name in factories:
                state[name] = factories[name]()
            else:
                raise TypeError(f"{title} missing required argument: {name!r}")
        if used != len(kwargs):
            unexpected = next(name for name in kwargs if name not in names)
            raise TypeError(f"{title} got an unexpected keyword argument {unexpected!r}")

    return __init__


def _repr(shown: list[str]) -> Callable[[Any], str]:
    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__qualname__}({inner})"

    return __repr__


def _eq(compared: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any, Any], Any]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    return __eq__


def _hash(compared: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(compared(self))

    return __hash__


def _frozen(cls: type, names: tuple[str, ...], verb: str) -> Callable[..., None]:
    """``__setattr__`` or ``__delattr__`` of a frozen record (and of its subclasses' fields)."""
    method = "__setattr__" if verb == "assign to" else "__delattr__"

    def refuse(self: Any, name: str, *value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot {verb} field {name!r}")
        getattr(super(cls, self), method)(name, *value)

    return refuse


def frozen(cls: type[T], fields: dict[str, Any]) -> T:
    """An instance of the frozen dataclass ``cls`` holding ``fields``, which must name every
    field: equal to ``cls(**fields)``, and as frozen.

    A record's ``__init__`` matches its arguments to the fields one by one, which costs
    more than reading the fields from the message; this fills the instance's ``__dict__``
    in one step instead. (No ``__post_init__`` is run: records have none.)
    """
    instance = _new(cls)
    instance.__dict__.update(fields)
    return instance
