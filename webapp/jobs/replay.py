"""Telling a device's "already done" (replay protection) from other failures.

GBCS replay protection, as this project reads it, has a device accept a command
only when its originator counter is strictly greater than the last one it
accepted from that remote party, and otherwise rejects it without executing.  How the
rejection is reported is kept here, in one place, so it can follow GBCS.
"""

from __future__ import annotations

from webapp.gbcs.gbz import parse_gbz
from webapp.gbcs.message import Message
from webapp.gbcs.zcl_ids import CMD_DEFAULT_RESPONSE
from webapp.gbcs.zcl_status import STATUS_DUPLICATE_EXISTS


def is_replay_rejection(message: Message) -> bool:
    """True when ``message`` is a device refusing a command it already ran (or a stale one)."""
    if message.kind != "response" or not message.payload.startswith(b"\x01\x09"):
        return False
    try:
        components = parse_gbz(message.payload)
    except ValueError:
        return False
    for component in components:
        zcl = component.zcl
        if (
            zcl.command_id == CMD_DEFAULT_RESPONSE
            and not zcl.cluster_specific
            and len(zcl.payload) >= 2
            and zcl.payload[1] == STATUS_DUPLICATE_EXISTS
        ):
            return True
    return False
