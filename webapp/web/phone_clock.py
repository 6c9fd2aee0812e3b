"""The phone's clock over Socket.IO, for the socket handlers (:mod:`webapp.web.sockets`).

On joining a job the page is pinged; each answer to a ping this terminal sent
(:class:`~webapp.clock.pings.PingBook`) is one reading of the phone's clock, which the
terminal's :class:`~webapp.clock.Clock` uses or sets aside. A phone whose clock
disagrees with a better source is written in the job's log once per connection, and so
is every change of the clock's source.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, request
from flask_socketio import emit

from webapp.clock import PhoneReading
from webapp.clock.pings import PingBook
from webapp.store.clock import utc_now
from webapp.web.context import station
from webapp.web.security import current_user

log = logging.getLogger(__name__)

PING_EVENT = "clock_ping"
PINGS_EXTENSION = "hht_clock_pings"
PLAUSIBLE_MS = (1_577_836_800_000, 4_102_444_800_000)  # 2020 to 2100
CLOCK_EVENT = "clock"


def pings() -> PingBook:
    """The app's ping book (one per app, made on first use)."""
    return current_app.extensions.setdefault(PINGS_EXTENSION, PingBook())


def start(job_id: str) -> None:
    """A page joined ``job_id``: write any change of clock source, then ping the phone."""
    record_source_changes(job_id)
    _ping(job_id)


def answer(data: Any) -> None:
    """A ``clock_pong``: used only when it answers this connection's outstanding ping."""
    user = current_user()
    ping_id = data.get("id") if isinstance(data, dict) else None
    answered = pings().answer(request.sid, ping_id)
    if user is None or answered is None:
        return  # unsolicited, unknown, spent or late: not a reading
    try:
        phone_ms = float(data["phone_ms"])
    except (TypeError, KeyError, ValueError):
        emit("error", {"error": "clock_pong needs the ping's id and phone_ms."})
        return
    if not PLAUSIBLE_MS[0] < phone_ms < PLAUSIBLE_MS[1]:
        return
    clock = station().runner.clock
    reading = clock.offer_phone(
        answered.sent_ms, phone_ms, answered.received_ms, phone=f"user-{user.id}"
    )
    if reading.used:
        _keep(reading)
    elif pings().note_flag(request.sid):
        _note_disagreement(answered.tag, reading, user.username)
    record_source_changes(answered.tag)
    if reading.used:
        # the page's time badge follows at once, without fetching /api/clock again
        emit("clock", clock.estimate().to_dict())
        _ping(answered.tag)


def forget() -> None:
    """The socket closed."""
    pings().forget(request.sid)


def record_source_changes(job_id: str) -> None:
    """Write each change of the clock's source since the last one written, in ``job_id``."""
    runner = station().runner
    for change in runner.clock.take_changes():
        runner.journal.record(job_id, CLOCK_EVENT, change.message, **change.data())


def _ping(job_id: str) -> None:
    ping = pings().ping(request.sid, job_id)
    if ping is not None:
        emit(PING_EVENT, ping.payload())


def _keep(reading: PhoneReading) -> None:
    sample = reading.sample
    with station().store.write() as db:
        db["clock_samples"].insert(
            {
                "at": utc_now(),
                "source": sample.source.value,
                "offset_s": sample.offset_s,
                "uncertainty_s": sample.uncertainty_s,
            }
        )


def _note_disagreement(job_id: str, reading: PhoneReading, username: str) -> None:
    found = reading.disagreement
    assert found is not None
    log.warning("phone clock of %s set aside: %s", username, found.message)
    message = found.message[0].upper() + found.message[1:]
    station().runner.journal.record(
        job_id, CLOCK_EVENT, f"{message} ({username}'s phone).", username, **found.data()
    )
