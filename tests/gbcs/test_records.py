"""The codec's records behave as ``@dataclass(frozen=True)`` does, field for field."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest

from webapp.gbcs.records import record


@dataclass(frozen=True)
class AsDataclass:
    """A record's shape: a plain field, defaults, a factory, fields left out of repr and
    comparisons."""

    a: int
    b: bytes | None = field(default=None, compare=False, repr=False)
    c: tuple[int, ...] = field(default_factory=tuple)
    d: int = 3

    def total(self) -> int:
        return self.a + self.d


@record
class AsRecord:
    """The same shape as a record."""

    a: int
    b: bytes | None = field(default=None, compare=False, repr=False)
    c: tuple[int, ...] = field(default_factory=tuple)
    d: int = 3

    def total(self) -> int:
        return self.a + self.d


def _behaviour(cls: type) -> list[object]:
    x, y, z = cls(1), cls(1, b"z"), cls(a=1, d=4, c=(1,))
    seen: list[object] = [
        repr(x).removeprefix(cls.__qualname__),
        repr(z).removeprefix(cls.__qualname__),
        x == y,
        x == z,
        x != z,
        x == 1,
        hash(x) == hash(y),
        hash(z),
        x.total(),
        dataclasses.asdict(z),
        [f.name for f in dataclasses.fields(cls)],
        dataclasses.replace(z, a=9).a,
        cls.__match_args__,
        copy.deepcopy(z) == z,
        list(vars(z)),
    ]
    for attempt in (
        lambda: setattr(x, "a", 2),
        lambda: delattr(x, "a"),
        lambda: setattr(x, "new", 1),
        lambda: cls(),
        lambda: cls(1, 2, 3, 4, 5),
        lambda: cls(1, a=2),
        lambda: cls(1, e=2),
    ):
        try:
            attempt()
            seen.append("accepted")
        except Exception as exc:  # noqa: BLE001 - the kind of refusal is what is compared
            seen.append(type(exc).__name__)
    return seen


def test_a_record_behaves_as_a_frozen_dataclass() -> None:
    assert _behaviour(AsRecord) == _behaviour(AsDataclass)


def test_a_record_pickles_and_is_frozen() -> None:
    made = AsRecord(5, c=(1, 2))
    assert pickle.loads(pickle.dumps(made)) == made
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.a = 6  # type: ignore[misc]


def test_a_record_refuses_what_it_does_not_build() -> None:
    with pytest.raises(TypeError):

        @record
        class KeywordOnly:
            a: int = field(kw_only=True)

    with pytest.raises(TypeError):

        @record
        class PostInit:
            a: int

            def __post_init__(self) -> None:
                pass
