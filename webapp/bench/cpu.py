"""Time spent inside chosen methods, for the benchmarks: wrapped while measuring, restored
afterwards; a call made from inside another timed call is counted once."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Target = tuple[Any, str]  # (class, method name)


class CpuMeter:
    """Seconds (process CPU by default; any clock given) spent in the wrapped methods."""

    def __init__(self, clock: Callable[[], float] = time.process_time) -> None:
        self.seconds = 0.0
        self._clock = clock
        self._depth = 0

    def _timed(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return original(*args, **kwargs)
            self._depth += 1
            started = self._clock()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += self._clock() - started
                self._depth -= 1

        return timed

    def _timed_context(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """A context-manager method, timed from entry to exit (a transaction and its commit)."""

        @contextlib.contextmanager
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            if self._depth:
                with original(*args, **kwargs) as value:
                    yield value
                return
            self._depth += 1
            started = self._clock()
            try:
                with original(*args, **kwargs) as value:
                    yield value
            finally:
                self.seconds += self._clock() - started
                self._depth -= 1

        return timed

    @contextlib.contextmanager
    def installed(
        self, methods: Iterable[Target], contexts: Iterable[Target] = ()
    ) -> Iterator[CpuMeter]:
        """Time ``methods`` (and the context-manager methods ``contexts``) while inside."""
        saved: list[tuple[Any, str, Any]] = []
        try:
            for owner, name in methods:
                saved.append((owner, name, owner.__dict__[name]))
                setattr(owner, name, self._timed(owner.__dict__[name]))
            for owner, name in contexts:
                saved.append((owner, name, owner.__dict__[name]))
                setattr(owner, name, self._timed_context(owner.__dict__[name]))
            yield self
        finally:
            for owner, name, original in reversed(saved):
                setattr(owner, name, original)
