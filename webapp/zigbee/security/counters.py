"""Frame counters: the outgoing one never reuses a value, even across restarts and
crashes; the incoming ones reject replays.

The outgoing counter's file holds one decimal number, the high-water mark: every value
below it may have been used.  Before handing out any value of a block the mark is moved
past the block, atomically (temporary file, fsync, rename, fsync of the directory), so a
crash at any point can only skip values, never repeat one.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from webapp.files import write_private
from webapp.zigbee.security.errors import CounterError, CounterExhausted
from webapp.zigbee.security.header import MAX_FRAME_COUNTER
from webapp.zigbee.types import EUI64

log = logging.getLogger(__name__)

DEFAULT_BLOCK = 4096
EXHAUSTED = MAX_FRAME_COUNTER  # 0xFFFFFFFF is never sent: reaching it means a new key


class OutgoingCounter:
    """A 32-bit outgoing frame counter backed by the file ``path`` (created on first use).

    ``block`` values are reserved per write.  Opening reserves the first block, so a store
    that cannot be written is reported at once (CounterError)."""

    def __init__(self, path: Path, block: int = DEFAULT_BLOCK) -> None:
        if block < 1:
            raise ValueError(f"reservation block must be positive, not {block}")
        self.path = Path(path)
        self.block = block
        self._lock = threading.Lock()
        self._next = self._load()
        self._mark = self._next
        self._reserve()

    def _load(self) -> int:
        try:
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            return 0
        except (OSError, UnicodeDecodeError) as e:
            raise CounterError(f"cannot read frame counter store {self.path}: {e}") from e
        try:
            mark = int(text.strip())
        except ValueError:
            raise CounterError(
                f"frame counter store {self.path} is corrupt: {text[:20]!r}"
            ) from None
        if not 0 <= mark <= EXHAUSTED:
            raise CounterError(f"frame counter store {self.path} holds {mark}, out of range")
        return mark

    def _reserve(self) -> None:
        if self._next >= EXHAUSTED:
            raise CounterExhausted(f"frame counter exhausted ({self.path}): a new key is needed")
        mark = min(self._next + self.block, EXHAUSTED)
        self._write(mark)
        self._mark = mark
        log.debug("frame counters reserved up to %d in %s", mark, self.path)

    def _write(self, mark: int) -> None:
        try:
            write_private(self.path, f"{mark}\n".encode("ascii"))
        except OSError as e:
            raise CounterError(
                f"cannot reserve frame counters in {self.path}: {e.strerror or e}"
            ) from e

    def next(self) -> int:
        """The next unused frame counter value.  CounterExhausted once 0xFFFFFFFE has been
        handed out; CounterError when the next block cannot be reserved."""
        with self._lock:
            if self._next >= self._mark:
                self._reserve()
            value = self._next
            self._next += 1
            return value

    @property
    def mark(self) -> int:
        """The reserved high-water mark (the value stored in the file)."""
        return self._mark


class IncomingCounters:
    """The last frame counter accepted from each source; ``rejected`` counts replays."""

    def __init__(self) -> None:
        self._last: dict[EUI64, int] = {}
        self.rejected = 0

    def accept(self, source: EUI64, counter: int) -> bool:
        """True (and remembered) when ``counter`` is above the last one from ``source``."""
        last = self._last.get(source)
        if last is not None and counter <= last:
            self.rejected += 1
            return False
        self._last[source] = counter
        return True

    def last(self, source: EUI64) -> int | None:
        return self._last.get(source)

    def forget(self, source: EUI64) -> None:
        """Drop ``source`` (after a key change its counters start again)."""
        self._last.pop(source, None)
