"""What a simulated device does with a command addressed to it.

Checks, in order: the MAC (with the device's MAC key), then replay protection per
originator.  The rule for counters is :func:`counter_accepted`; what a device answers is
decided in :func:`decide`.  Both are the single places to change when the real behaviour is
confirmed.

A rejected command is never executed.  The device answers it with a signed GBCS Response
(same counter and message code as the command) whose GBZ payload is one ZCL Default
Response with a failure status: DUPLICATE_EXISTS (0x8A) for a counter not above the last
accepted one from that originator (a repeat or a stale command), and NOT_AUTHORIZED (0x7E)
for a missing or wrong MAC.

An accepted command is executed: the device log entry, the new counter and the queued
response are written in one transaction together with removing the command from the queue.
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from webapp.gbcs.errors import GbcsError
from webapp.gbcs.message import (
    Message,
    build_general_signing,
    parse_message,
    response_header_for,
    verify_mac,
    wrap_general_ciphering,
)
from webapp.gbcs.zcl_status import STATUS_DUPLICATE_EXISTS, STATUS_NOT_AUTHORIZED

from .device_log_changes import apply_device_log_change
from .gas_proxy import apply_gpf_join, gpf_passes, record_undelivered
from .keys import load_private_key
from .payloads import ReadContext, rejection_payload, success_payload
from .state import HanStore, counter_text, counter_value, record_rejection

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

log = logging.getLogger(__name__)


class DeviceKind(StrEnum):
    CHF = "chf"
    GPF = "gpf"
    ESME = "esme"
    GSME = "gsme"
    IHD = "ihd"


#: Devices that execute commands (an IHD only joins the HAN).
COMMAND_DEVICES = frozenset({DeviceKind.CHF, DeviceKind.GPF, DeviceKind.ESME, DeviceKind.GSME})

#: Sim seconds a device takes to process one command once it has it (uniform range).
PROCESSING_SECONDS: dict[DeviceKind, tuple[float, float]] = {
    DeviceKind.CHF: (0.1, 0.5),
    DeviceKind.GPF: (0.2, 1.0),
    DeviceKind.ESME: (0.3, 2.0),
    DeviceKind.GSME: (0.5, 3.0),
}


class Outcome(StrEnum):
    SUCCESS = "success"
    DUPLICATE = "duplicate"  # counter not above the last accepted one
    NOT_AUTHORISED = "not-authorised"  # MAC missing or wrong


REJECTION_STATUS: dict[Outcome, int] = {
    Outcome.DUPLICATE: STATUS_DUPLICATE_EXISTS,
    Outcome.NOT_AUTHORISED: STATUS_NOT_AUTHORIZED,
}


def counter_accepted(last_accepted: int | None, counter: int) -> bool:
    """Replay protection as this project reads GBCS (the exact rule is unconfirmed): accept
    only a counter strictly greater than the last one accepted from the same originator."""
    return last_accepted is None or counter > last_accepted


def decide(mac_ok: bool, last_accepted: int | None, counter: int) -> Outcome:
    """Execute, or reject and say why."""
    if not mac_ok:
        return Outcome.NOT_AUTHORISED
    if not counter_accepted(last_accepted, counter):
        return Outcome.DUPLICATE
    return Outcome.SUCCESS


def processing_delay(seed: int, eui: str, kind: DeviceKind, raw: bytes) -> float:
    """Sim seconds ``eui`` takes over ``raw``: the same for the same seed and transaction
    (originator, counter, message code), whatever the signature bytes."""
    low, high = PROCESSING_SECONDS.get(kind, (0.1, 0.5))
    try:
        message = parse_message(raw)
        key = f"{message.originator_hex}:{message.counter}:{message.message_code}"
    except GbcsError:
        key = hashlib.sha256(raw).hexdigest()
    return random.Random(f"{seed}:{eui}:{key}").uniform(low, high)


@dataclass(frozen=True)
class Execution:
    device: str
    outcome: Outcome
    outbox_id: int
    response: bytes


class DeviceRunner:
    """Runs queued commands on their devices, one transaction each."""

    def __init__(self, store: HanStore) -> None:
        self.store = store
        self._keys: dict[str, ec.EllipticCurvePrivateKey] = {}

    def _signing_key(self, device: dict[str, Any]) -> ec.EllipticCurvePrivateKey:
        key = self._keys.get(device["eui"])
        if key is None:
            key = load_private_key(device["signing_key"])
            self._keys[device["eui"]] = key
        return key

    def execute(self, pending: dict[str, Any], now: float) -> Execution | None:
        """Process one queued command; None when it was already gone or is not for a device."""
        with self.store.atomic():
            if self.store.row("SELECT id FROM pending WHERE id = ?", [pending["id"]]) is None:
                return None
            self.store.execute("DELETE FROM pending WHERE id = ?", [pending["id"]])
            device = self.store.row("SELECT * FROM devices WHERE eui = ?", [pending["device"]])
            message = parse_message(pending["raw"])
            if device is None or message.recipient_hex != device["eui"]:
                log.warning("queued message %s has no device here; dropped", pending["id"])
                return None
            if not gpf_passes(device, message.message_code):
                record_undelivered(self.store, device, message, pending["route"], now)
                return None
            last = self.store.row(
                "SELECT counter FROM counters WHERE device = ? AND originator = ?",
                [device["eui"], message.originator_hex],
            )
            last_accepted = None if last is None else counter_value(last["counter"])
            mac_ok = verify_mac(bytes(device["mac_key"]), pending["raw"])
            outcome = decide(mac_ok, last_accepted, message.counter)
            if outcome is Outcome.SUCCESS:
                self._record_execution(device, message, pending["route"], now)
                apply_device_log_change(self.store, device, message)
                apply_gpf_join(self.store, device, message)
                payload = success_payload(
                    message.message_code,
                    message.payload,
                    ReadContext(eui=device["eui"], kind=device["kind"], now=now),
                )
            else:
                self._record_rejection(device, message, pending["route"], outcome, now)
                payload = rejection_payload(
                    message.message_code, message.payload, REJECTION_STATUS[outcome]
                )
            response = self._response(device, message, payload, now)
            outbox_id = self.store.execute(
                "INSERT INTO outbox (hub_id, route, device, counter, message_code, outcome, raw,"
                " pending_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    device["hub_id"],
                    pending["route"],
                    device["eui"],
                    counter_text(message.counter),
                    message.message_code,
                    outcome.value,
                    response,
                    pending["id"],
                    now,
                ],
            ).lastrowid
        log.info(
            "%s %s counter %d code 0x%04X by %s: %s",
            device["kind"].upper(),
            device["eui"],
            message.counter,
            message.message_code,
            pending["route"],
            outcome.value,
        )
        return Execution(device["eui"], outcome, int(outbox_id), response)

    def _record_execution(
        self, device: dict[str, Any], message: Message, route: str, now: float
    ) -> None:
        self.store.execute(
            "INSERT INTO counters (device, originator, counter) VALUES (?, ?, ?) "
            "ON CONFLICT(device, originator) DO UPDATE SET counter = excluded.counter",
            [device["eui"], message.originator_hex, counter_text(message.counter)],
        )
        self.store.execute(
            "INSERT INTO device_log (device, originator, counter, message_code, executions,"
            " route, executed_at) VALUES (?, ?, ?, ?, 1, ?, ?) "
            "ON CONFLICT(device, originator, counter, message_code) "
            "DO UPDATE SET executions = executions + 1",
            [
                device["eui"],
                message.originator_hex,
                counter_text(message.counter),
                message.message_code,
                route,
                now,
            ],
        )

    def _record_rejection(
        self, device: dict[str, Any], message: Message, route: str, outcome: Outcome, now: float
    ) -> None:
        record_rejection(
            self.store, device["hub_id"], device["eui"], message, route, outcome.value, now
        )

    def _response(
        self, device: dict[str, Any], command: Message, payload: bytes, now: float
    ) -> bytes:
        header = response_header_for(command.header, datetime.fromtimestamp(now, tz=UTC))
        signed = build_general_signing(header, payload, self._signing_key(device))
        invocation = device["invocation_counter"] + 1
        self.store.execute(
            "UPDATE devices SET invocation_counter = ? WHERE eui = ?", [invocation, device["eui"]]
        )
        return wrap_general_ciphering(
            signed, bytes(device["mac_key"]), header.originator, invocation % (1 << 32)
        )
