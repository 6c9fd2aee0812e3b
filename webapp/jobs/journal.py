"""The runner's job events: stamped with the terminal clock's quality, then published.

Each runner holds its own :class:`Journal` over its own clock, so two runners in
one process stamp their events each with their own clock.

The radio's loop commits with :meth:`Journal.record_async` (the store's writer thread
does the transaction while the loop goes on); :meth:`Journal.record` is for the pages'
threads, which may wait for the writer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from webapp.clock import Clock
from webapp.jobs import repo
from webapp.jobs.live import LiveBoard
from webapp.jobs.states import JobStatus, PauseReason
from webapp.store.db import Store
from webapp.store.events import TimeQuality, append_event


class Journal:
    """Writes events and status changes for the runner's jobs."""

    def __init__(self, store: Store, board: LiveBoard, clock: Callable[[], Clock]) -> None:
        self.store = store
        self.board = board
        self._clock = clock  # the runner's clock, read at each event (it may be replaced)

    def time_quality(self) -> TimeQuality:
        """The terminal clock's source, uncertainty and offset, now."""
        estimate = self._clock().estimate()
        uncertainty = None if math.isinf(estimate.uncertainty_s) else estimate.uncertainty_s
        return TimeQuality(estimate.source.value, uncertainty, estimate.offset_s)

    def append(
        self,
        db: Database,
        job_id: str,
        kind: str,
        message: str,
        data: dict[str, Any] | None = None,
        actor: str = "hht",
    ) -> dict[str, Any]:
        """Append one event inside the caller's transaction (publish it after commit)."""
        return append_event(
            db, job_id, kind, message, data, actor, time_quality=self.time_quality()
        )

    def record(self, job_id: str, kind: str, message: str, actor: str = "hht", **data: Any) -> None:
        """Commit one event and tell the job's pages: from a thread, never the radio loop."""
        with self.store.write() as db:
            event = self.append(db, job_id, kind, message, data, actor)
        self.board.publish_event(event)

    async def record_async(
        self, job_id: str, kind: str, message: str, actor: str = "hht", **data: Any
    ) -> None:
        """Commit one event from the radio loop, which goes on meanwhile; then tell the pages."""
        event = await self.store.write_async(
            lambda db: self.append(db, job_id, kind, message, data, actor)
        )
        self.board.publish_event(event)

    def set_status(
        self,
        db: Database,
        job_id: str,
        status: JobStatus,
        message: str,
        actor: str = "hht",
        *,
        reason: PauseReason | None = None,
        **fields: Any,
    ) -> None:
        """Change the job's status inside the caller's transaction, with its event."""
        repo.set_job_status(
            db,
            job_id,
            status,
            message,
            actor,
            reason=reason,
            time_quality=self.time_quality(),
            **fields,
        )
