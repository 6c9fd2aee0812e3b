"""The communications hubs: routing messages to devices, holding gas-meter traffic at the
GPF, and the outbox of messages waiting for the HHT.

Time is lazy: a queued command carries the sim instant it is due at its device, and
:meth:`HubController.pump` runs everything due so far, in order, each at its own due
instant.  So the devices keep working while the HHT is down: whatever fell due meanwhile
runs at the next pump, with the time stamps it would have had.

The gas meter (GSME) sleeps.  Commands for it wait at the GPF until it wakes: every
``GSME_WAKE_INTERVAL_SECONDS`` from a device-specific anchor, or when its button is
pressed; it then stays awake for a short while and runs what is held in order.  A gas meter
that has dropped off the HAN gets nothing but its re-join (:mod:`.gas_proxy`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from webapp.gbcs.errors import GbcsError
from webapp.gbcs.header import Cra
from webapp.gbcs.message import parse_message

from .clock import SimClock
from .devices import COMMAND_DEVICES, DeviceKind, DeviceRunner, Execution, processing_delay
from .gas_proxy import DROPPED_OFF_REASON, gpf_passes
from .state import HanStore, record_rejection

log = logging.getLogger(__name__)

INTERPAN_WINDOW_SECONDS = 60 * 60.0
GSME_WAKE_INTERVAL_SECONDS = 30 * 60.0
# Assumed figures: how long the gas meter stays awake after a scheduled wake / its button.
GSME_PERIODIC_AWAKE_SECONDS = 10.0
GSME_BUTTON_AWAKE_SECONDS = 5 * 60.0
CLOCK_KEY = "sim_clock"


class Route(StrEnum):
    HHT = "hht"
    WAN = "wan"


def interpan_open(power_on_at: float, now: float) -> bool:
    """The hub accepts Inter-PAN key establishment for an hour after power-on."""
    return 0.0 <= now - power_on_at < INTERPAN_WINDOW_SECONDS


@dataclass(frozen=True)
class WakeSchedule:
    """When a GSME is awake: periodically from ``anchor``, and after a button press."""

    anchor: float
    interval: float
    awake_until: float | None = None

    @classmethod
    def of(cls, device: dict[str, Any]) -> WakeSchedule:
        return cls(device["wake_anchor"], device["wake_interval"], device["awake_until"])

    def awake(self, now: float) -> bool:
        if self.awake_until is not None and now < self.awake_until:
            return True
        return now >= self.anchor and (now - self.anchor) % self.interval < (
            GSME_PERIODIC_AWAKE_SECONDS
        )

    def next_wake(self, now: float) -> float:
        if now <= self.anchor:
            return self.anchor
        return self.anchor + math.ceil((now - self.anchor) / self.interval) * self.interval


class HubController:
    """All hubs of the simulated HAN, over the shared store."""

    def __init__(self, store: HanStore, clock: SimClock, seed: int) -> None:
        self.store = store
        self.clock = clock
        self.seed = seed
        self.devices = DeviceRunner(store)

    # ----------------------------------------------------------------- lookups
    def hub(self, hub_id: str) -> dict[str, Any] | None:
        return self.store.row("SELECT * FROM hubs WHERE hub_id = ?", [hub_id])

    def device(self, eui: str) -> dict[str, Any] | None:
        return self.store.row("SELECT * FROM devices WHERE eui = ?", [eui])

    def checkpoint(self, now: float) -> None:
        """Remember how far sim time got, so it never runs backwards after a restart."""
        saved = self.store.get_meta(CLOCK_KEY)
        if saved is None or float(saved) < now:
            self.store.set_meta(CLOCK_KEY, repr(now))

    # ----------------------------------------------------------------- inbound
    def submit(
        self, hub_id: str, raw: bytes, route: Route | str, *, immediate: bool = False
    ) -> int:
        """Hand ``raw`` to ``hub_id`` for its recipient; the queue id, or 0 if dropped.

        With ``immediate`` (WAN delivery) an awake device runs it at once, ahead of anything
        queued for it.
        """
        route = Route(route)
        self.pump()
        now = self.clock.now()
        try:
            message = parse_message(raw)
        except GbcsError as exc:
            self._drop(hub_id, None, route, f"unparseable: {exc}", now)
            return 0
        if message.cra is not Cra.COMMAND:
            self._drop(hub_id, message, route, f"not a command ({message.kind})", now)
            return 0
        device = self.device(message.recipient_hex)
        if device is None or device["hub_id"] != hub_id:
            self._drop(hub_id, message, route, "recipient not on this hub's HAN", now)
            return 0
        if not device["in_device_log"]:
            self._drop(hub_id, message, route, "recipient not in the hub's device log", now)
            return 0
        if DeviceKind(device["kind"]) not in COMMAND_DEVICES:
            self._drop(hub_id, message, route, f"{device['kind']} takes no commands", now)
            return 0
        if not gpf_passes(device, message.message_code):
            self._drop(hub_id, message, route, DROPPED_OFF_REASON, now)
            return 0
        with self.store.atomic():
            due = self._due(device, bytes(raw), now, immediate)
            pending_id = self.store.execute(
                "INSERT INTO pending (hub_id, device, raw, route, received_at, due_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [hub_id, device["eui"], bytes(raw), route.value, now, due],
            ).lastrowid
            self.checkpoint(now)
        log.debug(
            "hub %s queued %s for %s, due in %.3f s", hub_id, pending_id, device["eui"], due - now
        )
        return int(pending_id)

    def _due(self, device: dict[str, Any], raw: bytes, now: float, immediate: bool) -> float:
        kind = DeviceKind(device["kind"])
        ready = now
        if kind is DeviceKind.GSME:
            schedule = WakeSchedule.of(device)
            if not schedule.awake(now):
                ready = schedule.next_wake(now)
        if immediate and ready == now:
            return now
        busy = self.store.row(
            "SELECT max(due_at) AS due FROM pending WHERE device = ?", [device["eui"]]
        )
        start = max(ready, busy["due"] if busy and busy["due"] is not None else ready)
        return start + processing_delay(self.seed, device["eui"], kind, raw)

    def _drop(self, hub_id: str, message: Any, route: Route, reason: str, now: float) -> None:
        log.warning("hub %s dropped a message (%s)", hub_id, reason)
        with self.store.atomic():
            recipient = message.recipient_hex if message else None
            record_rejection(self.store, hub_id, recipient, message, route.value, reason, now)

    # ----------------------------------------------------------------- time
    def pump(self) -> list[Execution]:
        """Run every queued command that is due by now, oldest due first."""
        done: list[Execution] = []
        while True:
            now = self.clock.now()
            row = self.store.row(
                "SELECT * FROM pending WHERE due_at <= ? ORDER BY due_at, id LIMIT 1", [now]
            )
            if row is None:
                return done
            with self.store.atomic():
                execution = self.devices.execute(row, row["due_at"])
                self.checkpoint(max(now, row["due_at"]))
            if execution is not None:
                done.append(execution)

    def press_button(self, gsme_eui: str) -> None:
        """Wake the gas meter now: it runs what the GPF holds for it, in order."""
        self.pump()
        device = self.device(gsme_eui)
        if device is None or device["kind"] != DeviceKind.GSME:
            raise KeyError(f"no gas meter {gsme_eui}")
        now = self.clock.now()
        with self.store.atomic():
            self.store.execute(
                "UPDATE devices SET awake_until = ? WHERE eui = ?",
                [now + GSME_BUTTON_AWAKE_SECONDS, gsme_eui],
            )
            held = self.store.rows(
                "SELECT id, raw, due_at FROM pending WHERE device = ? ORDER BY due_at, id",
                [gsme_eui],
            )
            at = now
            for row in held:
                delay = processing_delay(self.seed, gsme_eui, DeviceKind.GSME, bytes(row["raw"]))
                at = min(row["due_at"], at + delay)
                self.store.execute("UPDATE pending SET due_at = ? WHERE id = ?", [at, row["id"]])
            self.checkpoint(now)
        log.info("gas meter %s woken by its button; %d held command(s)", gsme_eui, len(held))

    # ----------------------------------------------------------------- hub state
    def power_cycle(self, hub_id: str) -> None:
        self._require(hub_id)
        now = self.clock.now()
        with self.store.atomic():
            self.store.execute(
                "UPDATE hubs SET power_on_at = ?, boots = boots + 1 WHERE hub_id = ?", [now, hub_id]
            )
            self.checkpoint(now)
        log.info("hub %s power-cycled; Inter-PAN open for the next hour", hub_id)

    def set_wan(self, hub_id: str, up: bool) -> None:
        hub = self._require(hub_id)
        now = self.clock.now()
        since = None if up else (hub["wan_down_since"] if not hub["wan_up"] else now)
        with self.store.atomic():
            self.store.execute(
                "UPDATE hubs SET wan_up = ?, wan_down_since = ? WHERE hub_id = ?",
                [int(up), since, hub_id],
            )
            self.checkpoint(now)

    def open_window(self, hub_id: str, until: float) -> None:
        """Keep the hub's Inter-PAN window open until sim instant ``until``."""
        self._require(hub_id)
        with self.store.atomic():
            self.store.execute(
                "UPDATE hubs SET window_until = max(coalesce(window_until, 0), ?) WHERE hub_id = ?",
                [until, hub_id],
            )

    def _require(self, hub_id: str) -> dict[str, Any]:
        hub = self.hub(hub_id)
        if hub is None:
            raise KeyError(f"no hub {hub_id}")
        return hub

    # ----------------------------------------------------------------- outbox
    def outbox_waiting(self, hub_id: str, exclude: Collection[int] = ()) -> list[dict[str, Any]]:
        """Messages ``hub_id`` holds for the HHT that are not acknowledged, oldest first."""
        rows = self.store.rows(
            "SELECT * FROM outbox WHERE hub_id = ? AND route = ? AND acked_at IS NULL ORDER BY id",
            [hub_id, Route.HHT.value],
        )
        return [row for row in rows if row["id"] not in exclude]

    def mark_delivered(self, outbox_id: int) -> None:
        now = self.clock.now()
        with self.store.atomic():
            self.store.execute(
                "UPDATE outbox SET deliveries = deliveries + 1,"
                " first_delivered_at = coalesce(first_delivered_at, ?) WHERE id = ?",
                [now, outbox_id],
            )

    def ack(self, hub_id: str, raw: bytes) -> bool:
        """The HHT has stored ``raw``: the hub stops offering it.  False if not held."""
        now = self.clock.now()
        with self.store.atomic():
            cursor = self.store.execute(
                "UPDATE outbox SET acked_at = ? WHERE hub_id = ? AND route = ? AND raw = ?"
                " AND acked_at IS NULL",
                [now, hub_id, Route.HHT.value, bytes(raw)],
            )
        return cursor.rowcount > 0
