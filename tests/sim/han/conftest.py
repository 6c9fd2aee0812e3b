"""Fixtures for the simulated HAN: a fresh HAN in a temporary directory, in fast mode."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from webapp.sim.dcc import DemoSupplier, build_command
from webapp.sim.han.clock import SimClock
from webapp.sim.han.han import SimHan
from webapp.sim.han.scenario import SiteInfo

FAST = 1000.0
START = 1_780_000_000.0  # a fixed sim start, so runs compare exactly
SEED = 7

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def clock() -> SimClock:
    return SimClock(FAST, start=START)


@pytest.fixture
def han(tmp_path: Path, clock: SimClock) -> Iterator[SimHan]:
    instance = SimHan.create(tmp_path / "sim", seed=SEED, time_scale=FAST, clock=clock)
    yield instance
    instance.close()


@pytest.fixture
def site(han: SimHan) -> SiteInfo:
    return han.add_site(name="1 Test Street", seed=SEED)


@pytest.fixture
def supplier() -> DemoSupplier:
    return DemoSupplier.create()


class Commands:
    """Builds commands from the demo supplier to the devices of one HAN."""

    def __init__(self, han: SimHan, supplier: DemoSupplier) -> None:
        self.han = han
        self.supplier = supplier

    def __call__(
        self,
        device_eui: str,
        counter: int,
        message_code: int = 0x0027,
        payload: bytes = b"\x01\x02",
        *,
        sign: bool = True,
    ) -> bytes:
        return build_command(
            self.han,
            supplier_identity=self.supplier,
            device_eui=device_eui,
            counter=counter,
            message_code=message_code,
            payload=payload,
            sign=sign,
        )


@pytest.fixture
def command(han: SimHan, supplier: DemoSupplier) -> Commands:
    return Commands(han, supplier)
