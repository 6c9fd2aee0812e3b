from __future__ import annotations

from pathlib import Path

import pytest

from webapp.zigbee.security.counters import IncomingCounters, OutgoingCounter
from webapp.zigbee.security.errors import CounterError, CounterExhausted
from webapp.zigbee.types import EUI64

HUB = EUI64.from_hex("00124B00AABBCCDD")
METER = EUI64.from_hex("00124B0001C0FFEE")


def test_fresh_counter_starts_at_zero_and_reserves_before_use(tmp_path: Path) -> None:
    path = tmp_path / "nwk.counter"
    counter = OutgoingCounter(path, block=10)
    assert path.read_text() == "10\n"  # reserved before any value is handed out
    assert [counter.next() for _ in range(10)] == list(range(10))
    assert path.read_text() == "10\n"
    assert counter.next() == 10
    assert path.read_text() == "20\n"
    assert counter.mark == 20


def test_restart_never_reuses_a_value(tmp_path: Path) -> None:
    path = tmp_path / "nwk.counter"
    seen: list[int] = []
    for _ in range(5):
        counter = OutgoingCounter(path, block=4)
        seen += [counter.next() for _ in range(3)]
    assert len(set(seen)) == len(seen)
    assert seen == sorted(seen)


def test_crash_between_reserve_and_use_skips_ahead(tmp_path: Path) -> None:
    path = tmp_path / "nwk.counter"
    counter = OutgoingCounter(path, block=100)
    used = [counter.next() for _ in range(3)]
    del counter  # "crash": 97 reserved values are never used
    again = OutgoingCounter(path, block=100)
    assert again.next() == 100 > max(used)


def test_crash_during_the_write_leaves_the_old_mark(tmp_path: Path) -> None:
    """A half-written temporary file is never read: the rename is the commit."""
    path = tmp_path / "nwk.counter"
    OutgoingCounter(path, block=50)
    (tmp_path / "nwk.counter.tmp").write_text("7")
    assert OutgoingCounter(path, block=50).next() == 50


def test_unwritable_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "missing-dir" / "nwk.counter"
    with pytest.raises(CounterError, match=r"cannot reserve frame counters in .*nwk\.counter"):
        OutgoingCounter(path)


def test_store_lost_mid_run_stops_at_the_mark(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    counter = OutgoingCounter(directory / "nwk.counter", block=2)
    assert [counter.next(), counter.next()] == [0, 1]
    (directory / "nwk.counter").unlink()
    directory.rmdir()
    for _ in range(2):  # refuses, and keeps refusing: no value beyond the mark escapes
        with pytest.raises(CounterError, match="cannot reserve"):
            counter.next()


@pytest.mark.parametrize("text", ["", "twelve", "-1", str(1 << 32)])
def test_corrupt_store_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "nwk.counter"
    path.write_text(text)
    with pytest.raises(CounterError, match="nwk.counter"):
        OutgoingCounter(path)


def test_store_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(CounterError, match="cannot read"):
        OutgoingCounter(tmp_path)


def test_exhausted(tmp_path: Path) -> None:
    path = tmp_path / "nwk.counter"
    path.write_text(str(0xFFFFFFFD))
    counter = OutgoingCounter(path, block=4096)
    assert path.read_text() == f"{0xFFFFFFFF}\n"
    assert [counter.next(), counter.next()] == [0xFFFFFFFD, 0xFFFFFFFE]
    with pytest.raises(CounterExhausted, match="exhausted"):
        counter.next()
    path.write_text(str(0xFFFFFFFF))
    with pytest.raises(CounterExhausted):
        OutgoingCounter(path)


def test_incoming_counters_accept_only_increasing_values() -> None:
    counters = IncomingCounters()
    assert counters.accept(HUB, 5)
    assert counters.accept(METER, 0)  # each source has its own
    assert not counters.accept(HUB, 5)  # replay
    assert not counters.accept(HUB, 4)
    assert counters.accept(HUB, 6)
    assert counters.last(HUB) == 6 and counters.last(METER) == 0
    assert counters.rejected == 2
    counters.forget(HUB)
    assert counters.last(HUB) is None and counters.accept(HUB, 1)
