"""A device the installer brings to replace a failed one (an ESME or an IHD).

It is made with its own keys and certificate and belongs to the home's hub, but it is not
in the hub's device log yet: the hub routes nothing to it until CCS01 adds it, and CCS02
takes the old one out (:mod:`.device_log_changes`).
"""

from __future__ import annotations

import logging
import random
from typing import Any

from .devices import DeviceKind
from .keys import DeviceCa, device_credentials
from .scenario import ESME_PREFIX, IHD_PREFIX
from .state import HanStore

log = logging.getLogger(__name__)

PREFIXES = {DeviceKind.ESME: ESME_PREFIX, DeviceKind.IHD: IHD_PREFIX}


def add_replacement(
    store: HanStore, ca: DeviceCa, seed: int, hub: dict[str, Any], kind: DeviceKind
) -> str:
    """The EUI of the replacement for ``hub``'s ``kind``, made now if need be."""
    if kind not in PREFIXES:
        raise ValueError(f"only an ESME or an IHD is replaced here, not a {kind.value}")
    old = store.row(
        "SELECT eui FROM devices WHERE hub_id = ? AND kind = ? AND in_device_log = 1"
        " ORDER BY rowid DESC LIMIT 1",
        [hub["hub_id"], kind.value],
    )
    if old is None:
        raise KeyError(f"hub {hub['hub_id']} has no {kind.value} in its device log")
    made = store.row("SELECT eui FROM devices WHERE replaces = ?", [old["eui"]])
    if made is not None:
        return str(made["eui"])
    site = store.row("SELECT seed FROM sites WHERE name = ?", [hub["site"]])
    site_seed = site["seed"] if site else seed
    taken = {row["eui"] for row in store.rows("SELECT eui FROM devices")}
    rng = random.Random(f"{seed}:replacement:{old['eui']}")
    prefix = PREFIXES[kind]
    digits = 16 - len(prefix)
    eui = old["eui"]
    while eui in taken:
        eui = f"{prefix}{rng.randrange(1 << (4 * digits)):0{digits}X}"
    credentials = device_credentials(ca, site_seed, eui)
    with store.atomic():
        store.execute(
            "INSERT INTO devices (eui, hub_id, kind, signing_key, certificate, mac_key,"
            " in_device_log, replaces) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            [
                eui,
                hub["hub_id"],
                kind.value,
                credentials.signing_key_pem,
                credentials.certificate_pem,
                credentials.mac_key,
                old["eui"],
            ],
        )
    log.info("replacement %s %s for %s at hub %s", kind.value, eui, old["eui"], hub["hub_id"])
    return eui
