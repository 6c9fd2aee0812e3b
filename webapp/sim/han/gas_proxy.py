"""A gas meter (GSME) that has dropped off the hub's HAN: its join to the GPF lost.

The hub's gas proxy function (GPF) holds the commands for a sleeping GSME and hands them
over when the meter wakes and asks for them over the secured link of their join. A meter
whose join is lost (``dropped_at`` set: after a fault, a firmware reset, a long loss of
radio) still wakes and is still in the CHF's device log, but it no longer asks the GPF for
anything on that link, and the GPF cannot reach it. So, in this project's reading (the
seed names the service request, not the bytes):

- a command for the meter that needs it (GCS28, GCS01a, reads: anything but a join) is not
  delivered. A real GPF would keep it for a meter that never collects it; to the HHT that is
  the same silence, so the simulator discards it at once and records why in the hub's
  rejections (nothing stale runs after a re-join). No answer comes: the HHT times out and
  pauses with its no-answer instruction, as for a meter that does not answer.
- the Method B join (CS03B), naming this hub's GPF, still reaches the meter at its next wake
  (or when its button is pressed): it is the command that sets up the link, so it does not
  need one. Once the meter has run it, the join holds again and commands reach it.
"""

from __future__ import annotations

import logging
from typing import Any

from webapp.gbcs.asn1 import parse_der
from webapp.gbcs.errors import GbcsError
from webapp.gbcs.message import Message

from .state import HanStore, record_rejection

log = logging.getLogger(__name__)

CS03B = 0x000E
GSME = "gsme"
OCTET_STRING = 4
EUI_OCTETS = 8
DROPPED_OFF_REASON = "gas meter has left the HAN: the GPF cannot reach it"


def dropped_off(device: dict[str, Any]) -> bool:
    """Whether ``device`` is a gas meter whose join to the GPF is lost."""
    return device["kind"] == GSME and device.get("dropped_at") is not None


def gpf_passes(device: dict[str, Any], message_code: int) -> bool:
    """Whether the GPF can pass a command with ``message_code`` on to ``device``: always,
    unless it is a dropped-off gas meter and the command is not its join (CS03B)."""
    return not dropped_off(device) or message_code == CS03B


def joined_gpf(payload: bytes) -> str | None:
    """The GPF a CS03B payload (method, other device, its type) joins the meter to."""
    try:
        node = parse_der(payload)
    except GbcsError:
        return None
    for child in node.children:
        if child.is_universal(OCTET_STRING) and len(child.content) == EUI_OCTETS:
            return child.content.hex().upper()
    return None


def record_undelivered(
    store: HanStore, device: dict[str, Any], message: Message, route: str, now: float
) -> None:
    """The GPF gave up on a command it held for ``device`` before the meter dropped off."""
    record_rejection(
        store, device["hub_id"], device["eui"], message, route, DROPPED_OFF_REASON, now
    )


def drop_off(store: HanStore, gsme_eui: str, now: float) -> None:
    """The gas meter ``gsme_eui`` leaves its hub's HAN at sim instant ``now``."""
    with store.atomic():
        cursor = store.execute(
            "UPDATE devices SET dropped_at = coalesce(dropped_at, ?) WHERE eui = ? AND kind = ?",
            [now, gsme_eui, GSME],
        )
    if not cursor.rowcount:
        raise KeyError(f"no gas meter {gsme_eui}")
    log.info("gas meter %s has dropped off its hub's HAN", gsme_eui)


def apply_gpf_join(store: HanStore, device: dict[str, Any], message: Message) -> None:
    """After ``device`` ran ``message``: a dropped-off gas meter that ran CS03B naming its
    own hub's GPF is joined again."""
    if not dropped_off(device) or message.message_code != CS03B:
        return
    if joined_gpf(message.payload) != device["hub_id"]:
        return
    store.execute("UPDATE devices SET dropped_at = NULL WHERE eui = ?", [device["eui"]])
    log.info("gas meter %s re-joined the GPF of hub %s", device["eui"], device["hub_id"])
