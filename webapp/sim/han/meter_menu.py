"""A simulated meter's installer menu: the PIN, its wrong tries, and asking the hub.

This is this project's reading of the seed (minutes 3.8: an "Installer-PIN" protected menu
on the ESME or GSME turns the hub's Inter-PAN flag back on for a maintenance visit). The
supplier sets the visit's PIN on the home's meters before the visit (here:
:func:`set_menu_pin`, as the pack builder does); the installer types it on the meter's
keypad. A right PIN makes the meter send its hub the request of :mod:`.window_request`, in
bytes on the HAN; a wrong one is refused and counted, and :data:`MENU_TRIES` wrong ones in a
row lock the menu for :data:`MENU_LOCK_SECONDS`. What the meter's display shows is returned
as text. Every instant is sim time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from webapp.sim.node import CounterSource, NodeLayers
from webapp.zigbee.sizes import COORDINATOR_SHORT
from webapp.zigbee.types import EUI64, FrameError

from .hub_network import METER_SHORTS, meter_link_key, network_key_of
from .state import HanStore
from .window_request import TRUSTED_KINDS, open_window_frame, read_default_response

if TYPE_CHECKING:
    from .han import SimHan

log = logging.getLogger(__name__)

MENU_TRIES = 3
MENU_LOCK_SECONDS = 10 * 60.0
#: How long a meter asks its hub to keep the window open.
MENU_WINDOW_MINUTES = 30

WINDOW_OPEN = "window-open"
WRONG_PIN = "wrong-pin"
LOCKED = "locked"
NO_PIN = "no-pin"
REFUSED = "refused"
NO_ANSWER = "no-answer"


@dataclass(frozen=True)
class MenuResult:
    """What the meter did, and what its display says."""

    outcome: str
    display: str
    window_until: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {"outcome": self.outcome, "display": self.display}


def pin_digest(eui: str, pin: str) -> str:
    return hashlib.sha256(f"hht-sim-menu-pin:{eui.upper()}:{pin}".encode()).hexdigest()


def set_menu_pin(store: HanStore, hub_id: str, pin: str) -> None:
    """The supplier sets the installer PIN of the ESME and GSME on ``hub_id``'s HAN."""
    rows = store.rows(
        "SELECT eui FROM devices WHERE hub_id = ? AND kind IN (?, ?)", [hub_id, *TRUSTED_KINDS]
    )
    with store.atomic():
        for row in rows:
            store.execute(
                "UPDATE devices SET menu_pin = ?, menu_failures = 0, menu_locked_until = NULL"
                " WHERE eui = ?",
                [pin_digest(row["eui"], pin), row["eui"]],
            )


class _StoredCounter(CounterSource):
    """A meter's outgoing frame counter, kept in the HAN's file (it never repeats)."""

    def __init__(self, store: HanStore, key: str) -> None:
        self.store, self.key = store, key

    def next(self) -> int:
        with self.store.atomic():
            value = int(self.store.get_meta(self.key) or 0) + 1
            self.store.set_meta(self.key, str(value))
        return value


def _minutes(seconds: float) -> int:
    return max(1, int(-(-seconds // 60)))


def enter_pin(han: SimHan, hub_id: str, kind: str, pin: str) -> MenuResult:
    """The installer types ``pin`` into the installer menu of the ``kind`` meter."""
    if kind not in TRUSTED_KINDS:
        raise ValueError(f"only the {' and '.join(TRUSTED_KINDS)} have an installer menu")
    store = han.store
    meter = store.row(
        "SELECT * FROM devices WHERE hub_id = ? AND kind = ? AND in_device_log = 1"
        " ORDER BY rowid DESC LIMIT 1",
        [hub_id, kind],
    )
    if meter is None:
        raise KeyError(f"hub {hub_id} has no {kind.upper()} in its device log")
    now = han.clock.now()
    locked_until = meter["menu_locked_until"]
    if locked_until is not None and now < locked_until:
        return MenuResult(LOCKED, f"MENU LOCKED {_minutes(locked_until - now)} MIN")
    if not meter["menu_pin"]:
        return MenuResult(NO_PIN, "NO INSTALLER PIN SET")
    if not hmac.compare_digest(meter["menu_pin"], pin_digest(meter["eui"], pin)):
        return _wrong(store, meter, now)
    with store.atomic():
        store.execute(
            "UPDATE devices SET menu_failures = 0, menu_locked_until = NULL WHERE eui = ?",
            [meter["eui"]],
        )
    return _ask_hub(han, hub_id, meter, now)


def _wrong(store: HanStore, meter: dict, now: float) -> MenuResult:
    failures = meter["menu_failures"] + 1
    locked = failures >= MENU_TRIES
    with store.atomic():
        store.execute(
            "UPDATE devices SET menu_failures = ?, menu_locked_until = ? WHERE eui = ?",
            [0 if locked else failures, now + MENU_LOCK_SECONDS if locked else None, meter["eui"]],
        )
    log.info(
        "%s %s: wrong installer PIN (%d/%d)", meter["kind"], meter["eui"], failures, MENU_TRIES
    )
    if locked:
        return MenuResult(LOCKED, f"MENU LOCKED {_minutes(MENU_LOCK_SECONDS)} MIN")
    return MenuResult(WRONG_PIN, f"WRONG PIN {failures}/{MENU_TRIES}")


def _ask_hub(han: SimHan, hub_id: str, meter: dict, now: float) -> MenuResult:
    """Send the hub the request in bytes and read its answer."""
    hub = han.hubs.hub(hub_id)
    endpoint = han.frames.endpoint(hub_id)
    assert hub is not None and endpoint is not None
    hub_eui = EUI64.from_hex(hub_id)
    key = meter_link_key(han.seed, meter["eui"])
    layers = NodeLayers(
        EUI64.from_hex(meter["eui"]),
        link_key_for=lambda source: key if source == hub_eui else None,
        nwk_counter=_StoredCounter(han.store, f"meter-nwk-counter:{meter['eui']}"),
        aps_counter=_StoredCounter(han.store, f"meter-aps-counter:{meter['eui']}"),
        short=METER_SHORTS[meter["kind"]],
        pan_id=hub["pan_id"],
        network_key=network_key_of(han.seed, hub_id),
    )
    counter = layers.next_aps_counter()
    request = open_window_frame(counter, counter, MENU_WINDOW_MINUTES)
    raw = layers.data_frame(COORDINATOR_SHORT, layers.aps_bytes(request, key))
    for _delay, answer in endpoint.on_frame(raw, now):
        opened = layers.open(answer)
        if opened is None:
            continue
        try:
            status = read_default_response(opened.frame)
        except FrameError:
            continue
        if status != 0:
            return MenuResult(REFUSED, "HUB REFUSED")
        until = (han.hubs.hub(hub_id) or {}).get("window_until")
        return MenuResult(WINDOW_OPEN, f"WINDOW OPEN {MENU_WINDOW_MINUTES} MIN", until)
    return MenuResult(NO_ANSWER, "NO ANSWER FROM HUB")
