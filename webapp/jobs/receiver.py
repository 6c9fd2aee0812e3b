"""The incoming path on the radio's loop: commit, acknowledge, then act.

Every message from the hub is committed to disk (:func:`incoming.store_message`)
before it is acknowledged to the hub, and acknowledged before anything else
happens with it: the page is told and the delivery waiting for that command's
answer is woken.  A message that cannot be stored is not acknowledged, so the
hub keeps it for the next connection.

The commit is awaited (:meth:`Store.write_async`): the radio's loop goes on while the
store's writer thread does it, and the acknowledgement still waits for the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from webapp.clock import Clock
from webapp.clock.device_time import reported_device_time
from webapp.clock.estimate import TIME_SETTING_USE_CASES
from webapp.faults import checkpoint
from webapp.jobs import incoming
from webapp.jobs.journal import Journal
from webapp.jobs.live import LiveBoard
from webapp.jobs.states import device_name
from webapp.jobs.waiters import Waiters
from webapp.store.db import Store
from webapp.zigbee.drivers.base import HubLink

log = logging.getLogger(__name__)


class Receiver:
    """Stores what arrives from the hub and settles the commands it answers."""

    def __init__(
        self,
        store: Store,
        board: LiveBoard,
        journal: Journal,
        waiters: Waiters,
        *,
        link: Callable[[], HubLink | None],
        certificates: Callable[[], Any],
        clock: Callable[[], Clock],
    ) -> None:
        self.store = store
        self.board = board
        self.journal = journal
        self.waiters = waiters
        self._link = link  # the link in use now (None once it is lost)
        self._certificates = certificates
        self._clock = clock

    async def collect_held(self, job_id: str, link: HubLink) -> None:
        """GB-HRGP GET: store whatever the hub held for the HHT while we were away."""
        held = await link.get()
        for raw in held:
            await self.accept(raw, job_id)
        if held:
            message = f"Collected {len(held)} held messages from the hub"
            await self.journal.record_async(job_id, "collected", message)

    async def accept(self, raw: bytes, job_id: str) -> None:
        """Commit one incoming message, acknowledge it to the hub, then act on it."""
        checkpoint("response-received")
        certificates = self._certificates()
        result, event = await self.store.write_async(
            lambda db: self._commit(db, raw, job_id, certificates)
        )
        checkpoint("response-committed")
        link = self._link()
        if link is not None:
            await link.ack(raw)
            checkpoint("response-acked")
        if event is not None:
            self.board.publish_event(event)
        cmd = result.command
        if cmd is not None:
            if result.new and cmd["use_case"] in TIME_SETTING_USE_CASES:
                await self._compare_device_time(cmd, raw)
            self.board.publish_command(cmd, self.store.reader())
            self.waiters.settle(cmd["id"], cmd["state"])

    def _commit(
        self, db: Database, raw: bytes, job_id: str, certificates: Any
    ) -> tuple[incoming.Incoming, dict[str, Any] | None]:
        """Store ``raw`` and its event in the transaction ``db`` (on the writer thread)."""
        result = incoming.store_message(
            db, raw, route="hht", job_id=job_id, certificates=certificates
        )
        if not result.new:
            return result, None
        cmd = result.command
        event = self.journal.append(
            db,
            cmd["job_id"] if cmd else job_id,
            "response" if cmd else result.event_kind,
            result.summary,
            {"command_id": cmd["id"]} if cmd else {"response_id": result.response_id},
        )
        return result, event

    async def _compare_device_time(self, cmd: dict[str, Any], raw: bytes) -> None:
        """After a clock-setting command: how far is the device's time from ours?"""
        device_time = reported_device_time(raw)
        if device_time is None:
            return
        estimate = self._clock().estimate()
        difference = device_time - estimate.now
        await self.journal.record_async(
            cmd["job_id"],
            "clock-check",
            f"The {device_name(cmd['device_role']).lower()}'s clock, once set "
            f"({cmd['use_case']}), differs from the terminal's by {difference:+.1f} s "
            f"(the terminal's time: {estimate.label})",
            command_id=cmd["id"],
            difference_s=round(difference, 3),
        )
