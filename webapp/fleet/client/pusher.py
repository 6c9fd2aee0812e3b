"""The background pusher of ``hht serve``: syncs with the joined fleet now and then.

A thread of its own (never the radio's loop): it reads through reader connections and
takes the store's writer only for the short transactions of a pack load or a mark, as a
page would, so no job waits for it.  Off when the HHT joined no fleet.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from webapp.fleet.client.config import JoinError, joined
from webapp.fleet.client.sync import PackLoader, SyncError, sync_once
from webapp.identity import terminal_identity
from webapp.store.db import Store

log = logging.getLogger(__name__)

#: Between syncs when the last one worked, and the longest wait after failures.
INTERVAL_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 600.0
THREAD_NAME = "hht-fleet-pusher"
STOP_WAIT_SECONDS = 10.0


class Pusher:
    def __init__(
        self,
        store: Store,
        data_dir: Path,
        loader: PackLoader,
        radio: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.store, self.data_dir, self.loader, self.radio = store, data_dir, loader, radio
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start pushing when the HHT joined a fleet; whether it started."""
        try:
            if joined(self.data_dir) is None:
                return False
        except JoinError as exc:
            log.error("fleet sync off: %s", exc)
            return False
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            try:
                fleet_at = joined(self.data_dir)
                if fleet_at is None:
                    return
                report = sync_once(
                    self.store,
                    fleet_at,
                    terminal_identity(self.data_dir),
                    loader=self.loader,
                    radio=self.radio,
                )
                log.info("fleet sync: %d batches, %d events", report.batches, report.events)
                wait = INTERVAL_SECONDS
            except (SyncError, JoinError) as exc:
                log.warning("fleet sync: %s", exc)
                wait = min(max(wait * 2, INTERVAL_SECONDS), MAX_BACKOFF_SECONDS)
            except Exception:  # noqa: BLE001 - the pusher must outlive any one failure
                log.exception("fleet sync failed")
                wait = MAX_BACKOFF_SECONDS

    def stop(self) -> None:
        """Stop, letting a sync under way finish its request (at most ``STOP_WAIT_SECONDS``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_WAIT_SECONDS)
