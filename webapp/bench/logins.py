"""Login timing for ``make bench``: a wrong PIN for a real user against an unknown name.

Both do the same work (one write, one read, one scrypt of the same cost), so their medians
should be within noise of each other; before server-side lock-outs an unknown name took
about 3 ms and a real user's wrong PIN about 55 ms, which told anyone which names exist.
Each attempt comes from its own address, so no lock-out cuts an attempt short.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from webapp.auth.users import INSTALLER, LoginRefused, add_user, login
from webapp.store.db import Store

ATTEMPTS = 31  # per kind, interleaved so drift touches both alike
KNOWN = ("bench-installer", "246810")
UNKNOWN = "nobody-here"
WRONG_PIN = "000000"
ADDRESSES_PER_BLOCK = 250


def _address(n: int) -> str:
    return f"10.9.{n // ADDRESSES_PER_BLOCK}.{n % ADDRESSES_PER_BLOCK + 1}"


def _refused_ms(store: Store, username: str, address: str) -> float:
    started = time.perf_counter()
    try:
        login(store, username, WRONG_PIN, INSTALLER, address)
    except LoginRefused:
        return (time.perf_counter() - started) * 1000
    raise RuntimeError(f"the bench's wrong PIN logged {username} in")


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Every refused login is logged as a warning: not the bench's output."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def login_timing_figures(attempts: int = ATTEMPTS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, _quiet("webapp.auth"):
        store = Store.open(Path(tmp))
        try:
            with store.write() as db:
                add_user(db, KNOWN[0], INSTALLER, KNOWN[1])
            known: list[float] = []
            unknown: list[float] = []
            for n in range(attempts):
                known.append(_refused_ms(store, KNOWN[0], _address(2 * n)))
                unknown.append(_refused_ms(store, UNKNOWN, _address(2 * n + 1)))
            right: list[float] = []
            for n in range(attempts):
                started = time.perf_counter()
                login(store, KNOWN[0], KNOWN[1], INSTALLER, _address(2 * attempts + n))
                right.append((time.perf_counter() - started) * 1000)
        finally:
            store.close()
    known_ms, unknown_ms = statistics.median(known), statistics.median(unknown)
    return {
        "attempts": attempts,
        "wrong_pin_known_user_median_ms": known_ms,
        "wrong_pin_unknown_user_median_ms": unknown_ms,
        "right_pin_median_ms": statistics.median(right),
        "known_over_unknown": known_ms / unknown_ms,
    }


def print_login_timing(figures: dict[str, Any]) -> None:
    print(
        f"Login, wrong PIN (median of {figures['attempts']}): real user "
        f"{figures['wrong_pin_known_user_median_ms']:.1f} ms, unknown name "
        f"{figures['wrong_pin_unknown_user_median_ms']:.1f} ms "
        f"(ratio {figures['known_over_unknown']:.2f}); right PIN "
        f"{figures['right_pin_median_ms']:.1f} ms"
    )


if __name__ == "__main__":
    print_login_timing(login_timing_figures())
