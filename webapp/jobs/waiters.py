"""Futures that the delivery side awaits and the incoming side settles, one per command."""

from __future__ import annotations

import asyncio


class Waiters:
    """The answer each in-flight command is waiting for, keyed by command id."""

    def __init__(self) -> None:
        self._futures: dict[int, asyncio.Future[str]] = {}

    def expect(self, command_id: int) -> asyncio.Future[str]:
        """A fresh future for ``command_id``'s answer (replacing any earlier one)."""
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._futures[command_id] = fut
        return fut

    def settle(self, command_id: int, state: str) -> None:
        """The answer to ``command_id`` is stored: wake whoever waits for it."""
        fut = self._futures.get(command_id)
        if fut is not None and not fut.done():
            fut.set_result(state)

    def fail_all(self, exc: BaseException) -> None:
        """Nothing more can arrive (lost link, full disk): every waiter gets ``exc``."""
        for fut in self._futures.values():
            if not fut.done():
                fut.set_exception(exc)

    def cancel_all(self) -> None:
        """Stop every wait (the installer paused)."""
        for fut in self._futures.values():
            if not fut.done():
                fut.cancel()

    def drop(self, command_id: int) -> None:
        """Forget the future for ``command_id``, reading any error set on it (so it is
        not reported later as never retrieved)."""
        fut = self._futures.pop(command_id, None)
        if fut is not None and fut.done() and not fut.cancelled():
            fut.exception()

    def clear(self) -> None:
        for command_id in list(self._futures):
            self.drop(command_id)
