"""Committing a message that arrived from a device, and matching it to its command.

A device's response carries the command's originator counter and message
code, with originator and recipient swapped (GBCS's request-response pairing).  Messages
are untrusted bytes: anything that does not parse is recorded as such and
never matched to a command.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from webapp.gbcs.errors import GbcsError
from webapp.gbcs.message import Message, parse_message
from webapp.jobs.replay import is_replay_rejection
from webapp.jobs.states import DONE_STATES, CommandState, device_name
from webapp.store.clock import utc_now
from webapp.store.sql import fetch_one, get_row, insert_row, update_row

log = logging.getLogger(__name__)


@dataclass
class Incoming:
    """What happened to one incoming message."""

    new: bool  # False when the same bytes were already stored
    summary: str
    event_kind: str = "message"
    command: dict[str, Any] | None = None
    response_id: int | None = None


def _matching_command(db: Database, msg: Message) -> dict[str, Any] | None:
    return fetch_one(
        db,
        "SELECT * FROM commands WHERE recipient = ? AND originator = ? AND counter = ? "
        "AND message_code = ?",
        [msg.originator_hex, msg.recipient_hex, msg.counter, msg.message_code],
    )


def _signature_state(msg: Message, certificates: Any) -> str:
    if certificates is None:
        return "absent" if msg.signature is None else "signer-unknown"
    from webapp.gbcs.signing import verify_message

    return str(verify_message(msg, certificates))


def store_message(
    db: Database,
    raw: bytes,
    *,
    route: str,
    job_id: str | None,
    certificates: Any = None,
) -> Incoming:
    """Commit ``raw`` (inside the caller's transaction) and settle its command."""
    digest = hashlib.sha256(raw).hexdigest()
    if fetch_one(db, "SELECT id FROM responses WHERE sha256 = ?", [digest]):
        return Incoming(new=False, summary="The same message arrived again; kept once")
    try:
        msg = parse_message(raw)
    except GbcsError as exc:
        log.warning("unreadable message from the hub: %s", exc)
        return Incoming(
            new=True,
            event_kind="unreadable",
            summary=f"Ignored an unreadable message from the hub ({len(raw)} bytes): {exc}",
        )
    if msg.kind not in ("response", "alert"):
        return Incoming(
            new=True,
            event_kind="unexpected",
            summary=f"Ignored a {msg.kind} addressed to the terminal ({msg.originator_hex})",
        )
    # the payload decoders load with the first answer: an idle server holds none of them
    from webapp.gbcs.outcome import response_outcome

    command = _matching_command(db, msg)
    outcome = response_outcome(msg)
    rejected = is_replay_rejection(msg)
    duplicate_of = None
    if command is not None:
        first = db.execute(
            "SELECT id FROM responses WHERE command_id = ? AND duplicate_of IS NULL "
            "ORDER BY id LIMIT 1",
            [command["id"]],
        ).fetchone()
        duplicate_of = first[0] if first else None
    response_id = insert_row(
        db,
        "responses",
        {
            "command_id": command["id"] if command else None,
            "job_id": command["job_id"] if command else job_id,
            "raw": raw,
            "sha256": digest,
            "kind": msg.kind,
            "counter": msg.counter,
            "message_code": msg.message_code,
            "originator": msg.originator_hex,
            "recipient": msg.recipient_hex,
            "outcome": "rejected" if rejected else outcome.status,
            "outcome_reason": outcome.reason,
            "signature": _signature_state(msg, certificates),
            "route": route,
            "received_at": utc_now(),
            "duplicate_of": duplicate_of,
        },
    )
    if command is None:
        return Incoming(
            new=True,
            event_kind="alert" if msg.kind == "alert" else "unmatched",
            summary=(
                f"{msg.kind.capitalize()} 0x{msg.message_code:04X} from {msg.originator_hex} "
                f"(counter {msg.counter}) kept; it answers no command of this terminal"
            ),
            response_id=response_id,
        )
    if CommandState(command["state"]) in DONE_STATES:
        return Incoming(
            new=True,
            summary=f"A second answer to command {command['seq']} came by {route}; kept, "
            "marked as a duplicate",
            command=command,
            response_id=response_id,
        )
    if rejected:
        state = CommandState.REJECTED
        text = "the device had already run it (duplicate or stale counter)"
    elif outcome.status == "failure":
        state = CommandState.FAILED
        text = f"the device refused it: {outcome.reason or 'no reason given'}"
    else:
        state = CommandState.ANSWERED
        text = "done" if outcome.status == "success" else "answered, outcome not stated"
    update_row(
        db,
        "commands",
        command["id"],
        {
            "state": state.value,
            "outcome": outcome.status if not rejected else "rejected",
            "outcome_reason": outcome.reason,
            "answered_at": utc_now(),
            "updated_at": utc_now(),
        },
    )
    command = get_row(db, "commands", command["id"])
    return Incoming(
        new=True,
        summary=(
            f"Command {command['seq']} to the {device_name(command['device_role']).lower()} "
            f"({command['use_case']}): {text}"
        ),
        command=command,
        response_id=response_id,
    )
