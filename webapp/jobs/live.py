"""What is happening right now on the radio, and telling the pages about it.

The database says where each job and command stands; :class:`LiveState` adds
what only the running terminal knows (scanning, waiting for the gas meter, a
deadline).  :class:`LiveBoard` keeps one per job and sends every change to the
pages through the publisher the web server (or a test) supplies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from webapp.jobs import repo

log = logging.getLogger(__name__)

#: Sends one message about a job to whoever watches it: ``publish(job_id, message)``.
Publisher = Callable[[str, dict[str, Any]], None]

EVENT_FIELDS = ("id", "at", "kind", "message")


@dataclass
class LiveState:
    """What is happening right now, beyond what the database says."""

    phase: str = "idle"  # idle | scanning | connecting | connected | running | waiting
    stage: str | None = None
    stage_label: str | None = None
    waiting_for: str | None = None
    action: str | None = None  # a button the page may offer, e.g. "wake-gsme"
    deadline_ms: int | None = None  # absolute time, epoch milliseconds
    eta_ms: int | None = None
    connected_hub: str | None = None
    instruction: str | None = None  # plain words after a failure

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def stop_waiting(self) -> None:
        """Nothing is awaited any more: no prompt, no button, no deadline."""
        self.waiting_for, self.action, self.deadline_ms = None, None, None


class LiveBoard:
    """The live state of every job, and the publisher that tells pages about changes."""

    def __init__(self, publish: Publisher | None = None) -> None:
        self._publish: Publisher = publish or (lambda job_id, msg: None)
        self._watchers: list[Publisher] = []
        self._live: dict[str, LiveState] = {}

    def live(self, job_id: str) -> LiveState:
        return self._live.setdefault(job_id, LiveState())

    def watch(self, watcher: Publisher) -> Callable[[], None]:
        """Also send every message to ``watcher`` (called in the publishing thread);
        returns the function that stops it."""
        self._watchers.append(watcher)
        return lambda: self._watchers.remove(watcher)

    def publish(self, job_id: str, kind: str, **payload: Any) -> None:
        message = {"type": kind, **payload}
        for send in (self._publish, *self._watchers):
            try:
                send(job_id, message)
            except Exception:  # a page that cannot be told must not stop the job
                log.exception("publishing %s for job %s failed", kind, job_id)

    def publish_live(self, job_id: str) -> None:
        self.publish(job_id, "live", live=self.live(job_id).to_dict())

    def publish_event(self, event: dict[str, Any]) -> None:
        self.publish(event["job_id"], "event", event={k: event[k] for k in EVENT_FIELDS})

    def publish_command(self, cmd: dict[str, Any], db: Database) -> None:
        """A command's change, with its service request's state as it now stands."""
        self.publish(
            cmd["job_id"],
            "command",
            command=repo.command_view(cmd),
            service_request=repo.service_request_view(db, cmd["service_request_id"]),
        )

    def snapshot(self, db: Database, job_id: str) -> dict[str, Any]:
        """Everything a page needs to draw the job, live state included."""
        return repo.job_snapshot(db, job_id, self.live(job_id).to_dict())

    def publish_snapshot(self, db: Database, job_id: str) -> None:
        self.publish(job_id, "snapshot", snapshot=self.snapshot(db, job_id))
