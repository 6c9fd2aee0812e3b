"""The pings the terminal sends a phone for its clock, and which answers count.

A phone's reading counts only as the answer to a ping this terminal sent on that
connection: each ping has a random id, is answered once, and only within
:data:`MAX_ROUND_TRIP_S` as the terminal's own monotonic clock measures it (the times
the phone echoes are not believed). A connection is sent at most
:data:`PINGS_PER_WINDOW` pings per :data:`PING_WINDOW_S`, one outstanding at a time,
so it can add no more readings than that.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

PING_ID_BYTES = 16
PINGS_PER_WINDOW = 5
PING_WINDOW_S = 60.0
MAX_ROUND_TRIP_S = 2.0
MAX_CONNECTIONS = 1024  # the oldest connection's bookkeeping goes first beyond this


@dataclass(frozen=True)
class Ping:
    """One ping to send: its id and the terminal's system time at sending."""

    id: str
    sent_ms: float

    def payload(self) -> dict[str, object]:
        return {"id": self.id, "sent_ms": self.sent_ms}


@dataclass(frozen=True)
class Answer:
    """A ping answered in time: the round trip in the terminal's system time."""

    tag: str  # what the connection was pinged for (the job it follows)
    sent_ms: float
    received_ms: float


@dataclass
class _Outstanding:
    id: str
    sent_monotonic: float


@dataclass
class _Connection:
    tag: str
    sent: deque[float] = field(default_factory=deque)  # monotonic times, this window
    outstanding: _Outstanding | None = None
    flag_noted: bool = False


class PingBook:
    """Each connection's pings: sent, answered once, rationed (thread-safe)."""

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        new_id: Callable[[], str] = lambda: secrets.token_urlsafe(PING_ID_BYTES),
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._new_id = new_id
        self._lock = threading.Lock()
        self._connections: OrderedDict[str, _Connection] = OrderedDict()

    def ping(self, connection: str, tag: str) -> Ping | None:
        """A new ping for ``connection`` (replacing any unanswered one), or None when it has
        had its share of this window."""
        with self._lock:
            now = self._monotonic()
            state = self._connections.get(connection)
            if state is None:
                state = self._connections[connection] = _Connection(tag)
                while len(self._connections) > MAX_CONNECTIONS:
                    self._connections.popitem(last=False)
            state.tag = tag
            while state.sent and now - state.sent[0] >= PING_WINDOW_S:
                state.sent.popleft()
            if len(state.sent) >= PINGS_PER_WINDOW:
                state.outstanding = None
                return None
            state.sent.append(now)
            state.outstanding = _Outstanding(self._new_id(), now)
            return Ping(state.outstanding.id, self._wall() * 1000)

    def answer(self, connection: str, ping_id: object) -> Answer | None:
        """The round trip ``ping_id`` closes, if it is this connection's outstanding ping
        and came back in time; the ping is spent either way."""
        with self._lock:
            now = self._monotonic()
            state = self._connections.get(connection)
            outstanding = state.outstanding if state is not None else None
            if (
                state is None
                or outstanding is None
                or not isinstance(ping_id, str)
                or not hmac.compare_digest(ping_id.encode(), outstanding.id.encode())
            ):
                return None
            state.outstanding = None
            round_trip_s = now - outstanding.sent_monotonic
            if not 0 <= round_trip_s <= MAX_ROUND_TRIP_S:
                return None
            received_ms = self._wall() * 1000
            return Answer(state.tag, received_ms - round_trip_s * 1000, received_ms)

    def note_flag(self, connection: str) -> bool:
        """True the first time a connection's phone is found to disagree."""
        with self._lock:
            state = self._connections.get(connection)
            if state is None or state.flag_noted:
                return False
            state.flag_noted = True
            return True

    def forget(self, connection: str) -> None:
        with self._lock:
            self._connections.pop(connection, None)
