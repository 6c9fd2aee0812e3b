"""Which phone answers count: only answers to pings sent, once each, in time, rationed."""

from __future__ import annotations

import itertools

import pytest

from webapp.clock.pings import (
    MAX_CONNECTIONS,
    MAX_ROUND_TRIP_S,
    PING_WINDOW_S,
    PINGS_PER_WINDOW,
    PingBook,
)


class FakeTime:
    def __init__(self) -> None:
        self.wall = 1_800_000_000.0
        self.mono = 50.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


@pytest.fixture
def t() -> FakeTime:
    return FakeTime()


@pytest.fixture
def book(t: FakeTime) -> PingBook:
    ids = (f"ping-{n}" for n in itertools.count())
    return PingBook(wall=lambda: t.wall, monotonic=lambda: t.mono, new_id=lambda: next(ids))


def test_an_answer_to_a_ping_sent_counts_once(book: PingBook, t: FakeTime) -> None:
    ping = book.ping("sid", "JOB-1")
    assert ping is not None and ping.payload() == {"id": ping.id, "sent_ms": t.wall * 1000}
    t.advance(0.25)
    answer = book.answer("sid", ping.id)
    assert answer is not None and answer.tag == "JOB-1"
    assert answer.received_ms - answer.sent_ms == pytest.approx(250.0)
    assert answer.received_ms == pytest.approx(t.wall * 1000)
    assert book.answer("sid", ping.id) is None  # reused


def test_unsolicited_unknown_and_foreign_answers_do_not_count(book: PingBook) -> None:
    assert book.answer("sid", "ping-0") is None  # nothing was sent
    ping = book.ping("sid", "JOB-1")
    assert ping is not None
    for junk in (None, 7, "", "ping-99", ping.id + "x", {"id": ping.id}):
        assert book.answer("sid", junk) is None
    assert book.answer("other-sid", ping.id) is None  # another connection's ping
    assert book.answer("sid", ping.id) is not None  # still outstanding after the junk


def test_a_late_answer_does_not_count_and_spends_the_ping(book: PingBook, t: FakeTime) -> None:
    ping = book.ping("sid", "JOB-1")
    assert ping is not None
    t.advance(MAX_ROUND_TRIP_S + 0.01)
    assert book.answer("sid", ping.id) is None
    assert book.answer("sid", ping.id) is None


def test_a_new_ping_replaces_the_unanswered_one(book: PingBook) -> None:
    first, second = book.ping("sid", "JOB-1"), book.ping("sid", "JOB-1")
    assert first is not None and second is not None
    assert book.answer("sid", first.id) is None
    assert book.answer("sid", second.id) is not None


def test_a_connection_gets_a_few_pings_a_minute(book: PingBook, t: FakeTime) -> None:
    answered = 0
    for _ in range(1001):  # joining again and again asks for more pings
        ping = book.ping("sid", "JOB-1")
        if ping is not None and book.answer("sid", ping.id) is not None:
            answered += 1
    assert answered == PINGS_PER_WINDOW
    t.advance(PING_WINDOW_S)
    assert book.ping("sid", "JOB-1") is not None
    assert book.ping("another", "JOB-1") is not None  # each connection its own share


def test_forgotten_and_evicted_connections_hold_nothing(book: PingBook) -> None:
    ping = book.ping("sid", "JOB-1")
    assert ping is not None
    book.forget("sid")
    assert book.answer("sid", ping.id) is None
    first = book.ping("first", "JOB-1")
    assert first is not None
    for n in range(MAX_CONNECTIONS):
        book.ping(f"c{n}", "JOB-1")
    assert book.answer("first", first.id) is None  # the oldest went


def test_a_disagreement_is_noted_once_per_connection(book: PingBook) -> None:
    assert book.note_flag("sid") is False  # unknown connection
    book.ping("sid", "JOB-1")
    assert book.note_flag("sid") is True
    assert book.note_flag("sid") is False


def test_ping_ids_are_random_by_default() -> None:
    book = PingBook()
    ids = {book.ping(f"c{n}", "J").id for n in range(50)}  # type: ignore[union-attr]
    assert len(ids) == 50 and all(len(i) >= 20 for i in ids)
