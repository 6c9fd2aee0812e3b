"""The simulated HAN as the rest of the project sees it: :class:`SimHan`."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from webapp.gbcs.errors import GbcsError
from webapp.gbcs.message import parse_message
from webapp.zigbee.drivers.base import BAND_2_4_GHZ

from .air import Air
from .clock import SimClock, iso
from .devices import DeviceKind
from .frame_air import FrameAir
from .gas_proxy import drop_off
from .hub import CLOCK_KEY, GSME_WAKE_INTERVAL_SECONDS, HubController, Route
from .keys import DeviceCa, device_credentials
from .meter_menu import MenuResult, enter_pin, set_menu_pin
from .replacement import add_replacement
from .scenario import HubPlan, SiteInfo, SitePlan, plan_site
from .state import DB_FILE, HanStore, counter_value
from .window import window_of

if TYPE_CHECKING:
    from webapp.zigbee.drivers.frames_base import FrameRadio
    from webapp.zigbee.stack import ZigbeeStack

log = logging.getLogger(__name__)

SEED_KEY = "seed"
#: How long ago an installed home's hub was powered on (its window long closed).
INSTALLED_AGO_SECONDS = 400 * 24 * 3600.0
#: The sim HHT's install code (the Zigbee specification's example code, with its CRC).
SIM_INSTALL_CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")
#: Sim seconds the stack waits for a hub, turned into real seconds by the time scale.
SIM_REPLY_TIMEOUT_S = 5.0
SIM_KE_TIMEOUT_S = 10.0
SIM_APS_ACK_TIMEOUT_S = 2.0
REAL_TIMEOUT_MARGIN_S = 0.25


class SimHan:
    """Hubs, meters and displays of one or more simulated sites, kept in ``state_dir``."""

    def __init__(self, store: HanStore, clock: SimClock, seed: int) -> None:
        self.store = store
        self.clock = clock
        self.seed = seed
        self.hubs = HubController(store, clock, seed)
        self.air = Air(store)
        self.frames = FrameAir(self)
        #: The outgoing frame counters of sticks opened here without a directory of their
        #: own, by (stick, counter name): a stick keeps them in flash across reopenings.
        self.stick_counters: dict[tuple[str, str], Any] = {}
        self._ca: DeviceCa | None = None
        self._closed = False

    # ------------------------------------------------------------ lifecycle
    @classmethod
    def create(
        cls,
        state_dir: Path,
        *,
        seed: int = 1,
        time_scale: float = 1.0,
        clock: SimClock | None = None,
    ) -> SimHan:
        """An empty HAN in ``state_dir``, or the one already there (its own seed kept).

        ``clock`` replaces the HAN's clock (tests move it); ``time_scale`` is then ignored.
        """
        store = HanStore(Path(state_dir))
        stored = store.get_meta(SEED_KEY)
        if stored is None:
            with store.atomic():
                store.set_meta(SEED_KEY, str(seed))
        elif int(stored) != seed:
            log.info(
                "simulated HAN in %s keeps its seed %s (asked for %d)", state_dir, stored, seed
            )
        return cls._start(store, time_scale, clock)

    @classmethod
    def open(
        cls, state_dir: Path, *, time_scale: float = 1.0, clock: SimClock | None = None
    ) -> SimHan:
        """The HAN already in ``state_dir``; FileNotFoundError when there is none."""
        if not (Path(state_dir) / DB_FILE).exists():
            raise FileNotFoundError(f"no simulated HAN in {state_dir}")
        store = HanStore(Path(state_dir))
        if store.get_meta(SEED_KEY) is None:
            store.close()
            raise FileNotFoundError(f"no simulated HAN in {state_dir}")
        return cls._start(store, time_scale, clock)

    @classmethod
    def _start(cls, store: HanStore, time_scale: float, clock: SimClock | None) -> SimHan:
        clock = clock or SimClock(time_scale)
        saved = store.get_meta(CLOCK_KEY)
        if saved is not None:
            clock.not_before(float(saved))
        han = cls(store, clock, int(store.get_meta(SEED_KEY) or 1))
        han.hubs.pump()
        return han

    def close(self) -> None:
        if self._closed:
            return
        with self.store.atomic():
            self.hubs.checkpoint(self.clock.now())
        self.store.close()
        self._closed = True

    @property
    def state_dir(self) -> Path:
        return self.store.path.parent

    # ------------------------------------------------------------ sites
    def add_site(
        self,
        *,
        name: str,
        seed: int | None = None,
        band: str = BAND_2_4_GHZ,
        neighbours: int = 1,
        unknown_networks: int = 2,
        installed: bool = False,
        opens_without_wan: bool = False,
        gsme_dropped: bool = False,
    ) -> SiteInfo:
        """A home hub (CHF + GPF) with ESME, GSME and IHD, powered on now, plus
        ``neighbours`` complete hubs in range and ``unknown_networks`` foreign beacons.

        ``installed``: a home commissioned long ago (its hub powered on
        :data:`INSTALLED_AGO_SECONDS` before now, its window closed, its device log holding
        the meters and the display). ``opens_without_wan``: the hub's policy of opening its
        window while its WAN is down. ``gsme_dropped``: its gas meter has dropped off the
        HAN (:mod:`.gas_proxy`): nothing reaches it until a CS03B re-joins it."""
        if self.store.row("SELECT name FROM sites WHERE name = ?", [name]) is not None:
            raise ValueError(f"a site called {name!r} exists already")
        index = self.store.row("SELECT count(*) AS n FROM sites")["n"]
        if seed is None:
            seed = random.Random(f"{self.seed}:site:{index}").getrandbits(32)
        taken = {row["eui"] for row in self.store.rows("SELECT eui FROM devices")}
        taken |= {r["extended_pan_id"] for r in self.store.rows("SELECT * FROM foreign_beacons")}
        now = self.clock.now()
        plan = plan_site(
            name=name,
            seed=seed,
            band=band,
            neighbours=neighbours,
            unknown_networks=unknown_networks,
            now=now - INSTALLED_AGO_SECONDS if installed else now,
            taken=taken,
        )
        self._write_site(plan, index, now)
        if opens_without_wan:
            self.set_opens_without_wan(plan.home.hub_id, True)
        if gsme_dropped:
            self.drop_off_gsme(plan.home.hub_id)
        log.info("simulated site %r: hub %s", name, plan.home.hub_id)
        return self.site(name)

    def _write_site(self, plan: SitePlan, index: int, now: float) -> None:
        ca = self._device_ca()
        with self.store.atomic():
            self.store.execute(
                "INSERT INTO sites (name, idx, seed, band, hub_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [plan.name, index, plan.seed, plan.band, plan.home.hub_id, now],
            )
            for hub in plan.hubs:
                self._write_hub(plan, hub, ca)
            for beacon in plan.foreign:
                self.store.execute(
                    "INSERT INTO foreign_beacons (site, channel, pan_id, extended_pan_id, rssi,"
                    " permit_join, band) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        plan.name,
                        beacon.channel,
                        beacon.pan_id,
                        beacon.extended_pan_id,
                        beacon.rssi,
                        int(beacon.permit_join),
                        BAND_2_4_GHZ,
                    ],
                )

    def _write_hub(self, plan: SitePlan, hub: HubPlan, ca: DeviceCa) -> None:
        self.store.execute(
            "INSERT INTO hubs (hub_id, chf_id, site, role, band, channel, pan_id, rssi,"
            " power_on_at, wan_up) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            [
                hub.hub_id,
                hub.chf_id,
                plan.name,
                hub.role.value,
                plan.band,
                hub.channel,
                hub.pan_id,
                hub.rssi,
                hub.power_on_at,
            ],
        )
        members = {
            DeviceKind.CHF: hub.chf_id,
            DeviceKind.GPF: hub.hub_id,
            DeviceKind.ESME: hub.esme_id,
            DeviceKind.GSME: hub.gsme_id,
            DeviceKind.IHD: hub.ihd_id,
        }
        for kind, eui in members.items():
            credentials = device_credentials(ca, plan.seed, eui)
            sleepy = kind is DeviceKind.GSME
            anchor = hub.power_on_at + hub.gsme_wake_offset * GSME_WAKE_INTERVAL_SECONDS
            self.store.execute(
                "INSERT INTO devices (eui, hub_id, kind, signing_key, certificate, mac_key,"
                " wake_anchor, wake_interval) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    eui,
                    hub.hub_id,
                    kind.value,
                    credentials.signing_key_pem,
                    credentials.certificate_pem,
                    credentials.mac_key,
                    anchor if sleepy else None,
                    GSME_WAKE_INTERVAL_SECONDS if sleepy else None,
                ],
            )

    def make_dual_band(self, hub_id: str, channel_868: int | None = None) -> int:
        """Give a 2.4 GHz hub a second network on 868 MHz (a dual-band hub); its channel."""
        hub = self._hub_of(hub_id)
        if hub["band"] != BAND_2_4_GHZ:
            raise ValueError(f"hub {hub['hub_id']} is not a 2.4 GHz hub")
        if channel_868 is None:
            channel_868 = random.Random(f"{self.seed}:868:{hub['hub_id']}").randint(0, 26)
        with self.store.atomic():
            self.store.execute(
                "UPDATE hubs SET channel_868 = ? WHERE hub_id = ?", [channel_868, hub["hub_id"]]
            )
        return channel_868

    def _device_ca(self) -> DeviceCa:
        if self._ca is None:
            self._ca = DeviceCa.for_seed(self.seed)
        return self._ca

    def site(self, name: str) -> SiteInfo:
        row = self.store.row("SELECT * FROM sites WHERE name = ?", [name])
        if row is None:
            raise KeyError(f"no site {name!r}")
        hubs = self.store.rows(
            "SELECT hub_id, role FROM hubs WHERE site = ? ORDER BY rowid", [name]
        )
        members = {
            d["kind"]: d["eui"]
            for d in self.store.rows(
                "SELECT eui, kind FROM devices WHERE hub_id = ? ORDER BY in_device_log, rowid",
                [row["hub_id"]],
            )
        }
        return SiteInfo(
            name=name,
            hub_id=row["hub_id"],
            chf_id=members[DeviceKind.CHF],
            esme_id=members[DeviceKind.ESME],
            gsme_id=members[DeviceKind.GSME],
            ihd_id=members[DeviceKind.IHD],
            neighbour_hub_ids=tuple(h["hub_id"] for h in hubs if h["role"] == "neighbour"),
            band=row["band"],
        )

    def sites(self) -> list[SiteInfo]:
        return [
            self.site(r["name"]) for r in self.store.rows("SELECT name FROM sites ORDER BY idx")
        ]

    # ------------------------------------------------------------ credentials
    def _device(self, eui: str) -> dict[str, Any]:
        device = self.hubs.device(eui.replace("-", "").replace(":", "").upper())
        if device is None:
            raise KeyError(f"no device {eui}")
        return device

    def device_certificate_pem(self, eui: str) -> bytes:
        """The device's Digital-Signing certificate (PEM): its responses verify with it."""
        return bytes(self._device(eui)["certificate"])

    def device_ca_certificate_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self._device_ca().certificate.public_bytes(serialization.Encoding.PEM)

    def device_mac_key(self, eui: str) -> bytes:
        """The 16-byte MAC key shared between the device and the (demo) DCC."""
        return bytes(self._device(eui)["mac_key"])

    # ------------------------------------------------------------ the world acts
    def _hub_of(self, hub_or_device: str) -> dict[str, Any]:
        key = hub_or_device.replace("-", "").replace(":", "").upper()
        hub = self.hubs.hub(key)
        if hub is None:
            device = self.hubs.device(key)
            hub = self.hubs.hub(device["hub_id"]) if device else None
        if hub is None:
            raise KeyError(f"no hub {hub_or_device}")
        return hub

    def power_cycle(self, hub_id: str) -> None:
        """Off and on: Inter-PAN opens for the next 60 minutes; open links drop."""
        self.hubs.power_cycle(self._hub_of(hub_id)["hub_id"])

    def press_gsme_button(self, hub_id: str) -> None:
        """Wake the gas meter of ``hub_id`` (or the gas meter ``hub_id`` names) now."""
        hub = self._hub_of(hub_id)
        gsme = self.store.row(
            "SELECT eui FROM devices WHERE hub_id = ? AND kind = ?",
            [hub["hub_id"], DeviceKind.GSME.value],
        )
        if gsme is None:
            raise KeyError(f"hub {hub_id} has no gas meter")
        self.hubs.press_button(gsme["eui"])

    def drop_off_gsme(self, hub_id: str) -> None:
        """The gas meter of ``hub_id`` (or the one it names) leaves the HAN now: its join to
        the GPF is lost until a CS03B re-joins it (:mod:`.gas_proxy`)."""
        drop_off(self.store, self._gas_meter(hub_id)["eui"], self.clock.now())

    def _gas_meter(self, hub_id: str) -> dict[str, Any]:
        hub = self._hub_of(hub_id)
        gsme = self.store.row(
            "SELECT * FROM devices WHERE hub_id = ? AND kind = ? ORDER BY rowid DESC LIMIT 1",
            [hub["hub_id"], DeviceKind.GSME.value],
        )
        if gsme is None:
            raise KeyError(f"hub {hub_id} has no gas meter")
        return gsme

    def set_wan(self, hub_id: str, up: bool) -> None:
        self.hubs.set_wan(self._hub_of(hub_id)["hub_id"], up)

    def set_opens_without_wan(self, hub_id: str, on: bool) -> None:
        """The hub's policy: open its window by itself while its WAN is down."""
        hub = self._hub_of(hub_id)
        with self.store.atomic():
            self.store.execute(
                "UPDATE hubs SET opens_without_wan = ? WHERE hub_id = ?", [int(on), hub["hub_id"]]
            )

    def set_installer_pin(self, hub_id: str, pin: str) -> None:
        """The supplier sets a visit's installer PIN on the home's ESME and GSME."""
        set_menu_pin(self.store, self._hub_of(hub_id)["hub_id"], pin)

    def meter_menu(self, hub_id: str, meter: str, pin: str) -> MenuResult:
        """The installer types ``pin`` into the installer menu of the ``meter`` (esme or
        gsme) at the home of ``hub_id``; what the meter did and its display says."""
        self.hubs.pump()
        return enter_pin(self, self._hub_of(hub_id)["hub_id"], meter.lower(), pin)

    def add_replacement(self, hub_id: str, kind: str) -> str:
        """A new device of ``kind`` (esme or ihd) the installer brings to replace the
        home's: made now, not yet in the hub's device log (CCS01 adds it, CCS02 removes the
        old one); its EUI. The same one again when it is already made."""
        hub = self._hub_of(hub_id)
        return add_replacement(self.store, self._device_ca(), self.seed, hub, DeviceKind(kind))

    def chf_device_log(self, hub_id: str) -> list[dict[str, str]]:
        """The devices in the hub's device log: eui and kind, in the order they came."""
        self.hubs.pump()
        hub = self._hub_of(hub_id)
        return self.store.rows(
            "SELECT eui, kind FROM devices WHERE hub_id = ? AND in_device_log = 1"
            " AND kind NOT IN (?, ?) ORDER BY rowid",
            [hub["hub_id"], DeviceKind.CHF.value, DeviceKind.GPF.value],
        )

    def deliver_via_wan(self, command: bytes) -> bytes | None:
        """A command arriving by WAN: executed (or rejected) now; its response goes back by
        WAN and is returned.  None when nothing came back: the hub's WAN is down, the command
        was dropped (unreadable, unknown recipient), or the gas meter is asleep (the GPF holds
        it; the response appears in :meth:`wan_responses` once it wakes)."""
        try:
            recipient = parse_message(command).recipient_hex
        except GbcsError as exc:
            log.warning("WAN command unreadable: %s", exc)
            return None
        device = self.hubs.device(recipient)
        if device is None:
            log.warning("WAN command for unknown device %s", recipient)
            return None
        hub = self.hubs.hub(device["hub_id"])
        if hub is None or not hub["wan_up"]:
            log.info("WAN of hub %s is down; command not delivered", device["hub_id"])
            return None
        pending_id = self.hubs.submit(hub["hub_id"], bytes(command), Route.WAN, immediate=True)
        if not pending_id:
            return None
        self.hubs.pump()
        row = self.store.row("SELECT raw FROM outbox WHERE pending_id = ?", [pending_id])
        return None if row is None else bytes(row["raw"])

    def wan_responses(self, hub_id: str | None = None) -> list[bytes]:
        """Responses that went back by WAN, oldest first."""
        self.hubs.pump()
        sql, params = "SELECT raw FROM outbox WHERE route = ?", [Route.WAN.value]
        if hub_id is not None:
            sql, params = sql + " AND hub_id = ?", [*params, self._hub_of(hub_id)["hub_id"]]
        return [bytes(r["raw"]) for r in self.store.rows(sql + " ORDER BY id", params)]

    def pump(self) -> int:
        """Let the devices run whatever has fallen due; how many commands they handled."""
        return len(self.hubs.pump())

    # ------------------------------------------------------------ inspection
    def device_log(self) -> list[dict[str, Any]]:
        """Executed commands: one row per (device, originator, counter, message code)."""
        self.hubs.pump()
        rows = self.store.rows(
            "SELECT device, originator, counter, message_code, executions, route, executed_at"
            " FROM device_log ORDER BY executed_at, device, counter"
        )
        for row in rows:
            row["counter"] = counter_value(row["counter"])
            row["executed_at"] = iso(row["executed_at"])
        return rows

    def rejections(self) -> list[dict[str, Any]]:
        """Messages not executed and why (duplicate, not-authorised, dropped by the hub)."""
        self.hubs.pump()
        rows = self.store.rows("SELECT * FROM rejections ORDER BY id")
        for row in rows:
            if row["counter"] is not None:
                row["counter"] = counter_value(row["counter"])
            row["at"] = iso(row["at"])
        return rows

    def hub_status(self, hub_id: str) -> dict[str, Any]:
        self.hubs.pump()
        hub = self._hub_of(hub_id)
        now = self.clock.now()
        held = self.store.row(
            "SELECT count(*) AS n FROM pending WHERE hub_id = ?", [hub["hub_id"]]
        )["n"]
        waiting = len(self.hubs.outbox_waiting(hub["hub_id"]))
        window = window_of(hub, now)
        return {
            "hub_id": hub["hub_id"],
            "site": hub["site"],
            "role": hub["role"],
            "band": hub["band"],
            "channel": hub["channel"],
            "power_on_at": iso(hub["power_on_at"]),
            "interpan_open": window.open,
            "window_reason": window.reason,
            "window_closes_at": iso(window.closes_at),
            "opens_without_wan": bool(hub["opens_without_wan"]),
            "wan_up": bool(hub["wan_up"]),
            "gas_meter": self._gas_meter_status(hub["hub_id"]),
            "queued_commands": held,
            "messages_for_hht": waiting,
        }

    def _gas_meter_status(self, hub_id: str) -> dict[str, Any] | None:
        """The home's gas meter: joined to the hub's GPF, or dropped off (and since when)."""
        try:
            gsme = self._gas_meter(hub_id)
        except KeyError:
            return None
        dropped = gsme["dropped_at"]
        return {
            "eui": gsme["eui"],
            "state": "joined" if dropped is None else "dropped-off",
            "dropped_off_at": iso(dropped),
        }

    # ------------------------------------------------------------ radio
    def driver(
        self,
        *,
        position: str | None = None,
        bands: frozenset[str] | None = None,
        frame_loss: float = 0.0,
        seed: int | None = None,
        counters_dir: Path | None = None,
    ) -> ZigbeeStack:
        """The HHT's Zigbee stack over a frame-level radio in range of the hubs at
        ``position`` (a site name; None: every site).  ``bands`` defaults to 2.4 GHz only;
        ``frame_loss`` is the chance of losing one try of a frame; the stick's frame counters
        are kept in ``counters_dir`` when given."""
        from webapp.sim.radio import SimFrameRadio

        radio = SimFrameRadio(
            self,
            position=position,
            bands=bands,
            frame_loss=frame_loss,
            seed=seed,
            counters_dir=counters_dir,
        )
        return self.stack_over(radio)

    def stack_over(self, radio: FrameRadio) -> ZigbeeStack:
        """The HHT's Zigbee stack over ``radio`` (any frame-level radio in range of these
        hubs, e.g. a stick emulator bridged to them) with the sim terminal's credentials and
        timeouts scaled to the HAN's clock."""
        from webapp.sim.radio import SIM_HHT_EUI
        from webapp.zigbee.stack import StackTimeouts, ZigbeeStack

        scale = self.clock.time_scale
        timeouts = StackTimeouts(
            reply=SIM_REPLY_TIMEOUT_S / scale + REAL_TIMEOUT_MARGIN_S,
            key_establishment=SIM_KE_TIMEOUT_S / scale + REAL_TIMEOUT_MARGIN_S,
            aps_ack=SIM_APS_ACK_TIMEOUT_S / scale + REAL_TIMEOUT_MARGIN_S,
        )
        return ZigbeeStack(
            radio,
            lambda: self.frames.hht_credentials(SIM_HHT_EUI),
            SIM_INSTALL_CODE,
            timeouts=timeouts,
            band_of=self._hub_band,
            now=self.clock.now,
        )

    def _hub_band(self, hub_id: str) -> str | None:
        """The band the supplier's records give for a hub (the sim knows every hub's)."""
        hub = self.hubs.hub(hub_id.upper())
        return None if hub is None else hub["band"]
