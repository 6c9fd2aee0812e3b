"""What a CHF's device log becomes when it runs CCS01 or CCS02.

CCS01 (Add Device to CHF device log) registers the device named in its register_device
action; CCS02 (Remove device from CHF device log) takes out the device named in its
unregister_device action. The hub routes commands only to devices in its log, so a removed
meter stops answering and an added one starts.
"""

from __future__ import annotations

import logging
from typing import Any

from webapp.gbcs.dlms import ACCESS_REQUEST, parse_dlms
from webapp.gbcs.errors import GbcsError
from webapp.gbcs.message import Message

from .state import HanStore

log = logging.getLogger(__name__)

CCS01 = 0x0001
CCS02 = 0x0002
CLASS_ZIGBEE_NETWORK_CONTROL = 104
REGISTER_DEVICE = 1
UNREGISTER_DEVICE = 2
OCTET_STRING = 9
STRUCTURE = 2
EUI_OCTETS = 8


def _subject(payload: bytes, method: int) -> str | None:
    """The EUI the CHF's ``method`` is called with, or None."""
    try:
        apdu = parse_dlms(payload)
    except GbcsError:
        return None
    if apdu.tag != ACCESS_REQUEST:
        return None
    for spec, data in zip(apdu.requests, apdu.data, strict=False):
        target = spec.target
        if (target.class_id, target.member_id, spec.choice) != (
            CLASS_ZIGBEE_NETWORK_CONTROL,
            method,
            3,
        ):
            continue
        value = data.value[0] if data.tag == STRUCTURE and data.value else data
        if value.tag == OCTET_STRING and len(value.value) == EUI_OCTETS:
            return bytes(value.value).hex().upper()
    return None


def apply_device_log_change(store: HanStore, chf: dict[str, Any], message: Message) -> None:
    """After ``chf`` ran ``message``: add or remove the device it names (on its own hub)."""
    if chf["kind"] != "chf" or message.message_code not in (CCS01, CCS02):
        return
    adding = message.message_code == CCS01
    eui = _subject(message.payload, REGISTER_DEVICE if adding else UNREGISTER_DEVICE)
    if eui is None:
        return
    cursor = store.execute(
        "UPDATE devices SET in_device_log = ? WHERE eui = ? AND hub_id = ?",
        [int(adding), eui, chf["hub_id"]],
    )
    if cursor.rowcount:
        log.info("hub %s device log: %s %s", chf["hub_id"], "added" if adding else "removed", eui)
