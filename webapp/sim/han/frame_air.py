"""What the simulated HAN puts on the air at frame level: beacons, hub endpoints, spoofers.

The hubs' key-establishment certificates come from a test CA derived from the HAN's seed
(:class:`webapp.sim.zigbee_ca.TestCa`); the HHT's sim certificate comes from the same
CA, so the two trust each other and nothing else.  Spoofers are networks that claim a hub's
id (or make one up) and answer with a certificate from another CA, and pests that keep
sending the HHT Initiate Key Establishment requests; they live in memory only.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from webapp.sim.zigbee_ca import TestCa
from webapp.zigbee.cbke.credentials import Credentials
from webapp.zigbee.drivers.base import BAND_868_MHZ
from webapp.zigbee.frames import key_establishment
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.frames.key_establishment import InitiateKeyEstablishment
from webapp.zigbee.frames.mac import BeaconFrame, SuperframeSpec, ZigbeeBeaconPayload
from webapp.zigbee.frames.zcl import Direction
from webapp.zigbee.sizes import COORDINATOR_SHORT
from webapp.zigbee.types import EUI64, FrameError

from .hub_radio import HUB_KE_STEP_SECONDS, HubEndpoint
from .window import window_open

if TYPE_CHECKING:
    from .han import SimHan

log = logging.getLogger(__name__)

ROGUE_ISSUER = bytes.fromhex("524F475545434121")  # "ROGUECA!"
#: How often a pest repeats its fake Initiate Key Establishment (sim seconds).
PEST_INTERVAL_SECONDS = 0.5


class Listener(Protocol):
    name: str

    @property
    def address(self) -> EUI64: ...

    @property
    def pan_id(self) -> int | None: ...

    def on_interpan(
        self, frame: InterPanFrame, now: float
    ) -> list[tuple[float, InterPanFrame]]: ...


def beacon_bytes(pan_id: int, extended_pan_id: str, permit: bool, seq: int = 0) -> bytes:
    return BeaconFrame(
        seq=seq,
        src_pan=pan_id,
        src=COORDINATOR_SHORT,
        superframe=SuperframeSpec(pan_coordinator=True, association_permit=permit),
        payload=ZigbeeBeaconPayload(EUI64.from_hex(extended_pan_id)),
    ).to_bytes()


@dataclass
class Spoofer:
    """A network that claims ``extended_pan_id`` and answers key establishment with a
    certificate the HHT's CA did not issue."""

    site: str
    channel: int
    pan_id: int
    extended_pan_id: str
    rssi: int
    credentials: Credentials | None
    band: str
    name: str = ""

    @property
    def address(self) -> EUI64:
        return EUI64.from_hex(self.extended_pan_id)

    def on_interpan(self, frame: InterPanFrame, now: float) -> list[tuple[float, InterPanFrame]]:
        if self.credentials is None or frame.cluster_id != key_establishment.CLUSTER_ID:
            return []
        try:
            header, command = key_establishment.decode_ke(frame.payload)
        except FrameError:
            return []
        if not isinstance(command, InitiateKeyEstablishment):
            return []
        answer = InitiateKeyEstablishment(
            suite=command.suite,
            ephemeral_data_generate_time=10,
            confirm_key_generate_time=10,
            identity=self.credentials.certificate,
        )
        payload = key_establishment.encode_ke(answer, Direction.SERVER_TO_CLIENT, header.tsn)
        reply = InterPanFrame(
            seq=frame.seq,
            dst_pan=frame.src_pan,
            dst=frame.src,
            src_pan=self.pan_id,
            src=self.address,
            cluster_id=frame.cluster_id,
            payload=payload,
        )
        return [(HUB_KE_STEP_SECONDS, reply)]


@dataclass
class Pest:
    """Something nearby that keeps asking the HHT to start key establishment."""

    site: str
    channel: int
    pan_id: int
    address: EUI64
    rssi: int
    certificate: bytes
    last_sent: float = field(default=float("-inf"))


class FrameAir:
    """The simulated HAN's frames: one per SimHan."""

    def __init__(self, han: SimHan) -> None:
        self.han = han
        self._ca: TestCa | None = None
        self._rogue: TestCa | None = None
        self._endpoints: dict[str, HubEndpoint] = {}
        self._hht: dict[EUI64, Credentials] = {}
        self.spoofers: list[Spoofer] = []
        self.pests: list[Pest] = []

    # ------------------------------------------------------------ certificates
    @property
    def ca(self) -> TestCa:
        if self._ca is None:
            self._ca = TestCa.create(seed=f"hht-sim-ca:{self.han.seed}")
        return self._ca

    def hht_credentials(self, eui: EUI64) -> Credentials:
        """Key-establishment credentials for an HHT, issued by the HAN's test CA."""
        if eui not in self._hht:
            self._hht[eui] = self.ca.issue(eui)
        return self._hht[eui]

    def endpoint(self, hub_id: str) -> HubEndpoint | None:
        hub_id = hub_id.upper()
        found = self._endpoints.get(hub_id)
        if found is None:
            if self.han.hubs.hub(hub_id) is None:
                return None
            credentials = self.ca.issue(EUI64.from_hex(hub_id))
            found = self._endpoints[hub_id] = HubEndpoint(self.han, hub_id, credentials)
        return found

    # ------------------------------------------------------------ what is heard
    def _sites(self, position: str | None) -> list[str]:
        return self.han.air.sites_at(position)

    @staticmethod
    def hub_channels(hub: dict[str, Any]) -> list[tuple[str, int]]:
        """(band, channel) the hub's network is on: one, or two for a dual-band hub."""
        found = [(hub["band"], hub["channel"])]
        if hub.get("channel_868") is not None and hub["band"] != BAND_868_MHZ:
            found.append((BAND_868_MHZ, hub["channel_868"]))
        return found

    def hub_bands(self, hub: dict[str, Any]) -> set[str]:
        return {band for band, _ in self.hub_channels(hub)}

    def beacon_frames(self, position: str | None, now: float) -> list[tuple[str, int, int, bytes]]:
        """(band, channel, rssi, beacon frame) for all that answer a beacon request."""
        heard: list[tuple[str, int, int, bytes]] = []
        for hub in self.han.air.hubs_at(position):
            is_open = window_open(hub, now)
            raw = beacon_bytes(hub["pan_id"], hub["hub_id"], is_open)
            for band, channel in self.hub_channels(hub):
                heard.append((band, channel, hub["rssi"], raw))
        sites = set(self._sites(position))
        for row in self._foreign(sites):
            raw = beacon_bytes(row["pan_id"], row["extended_pan_id"], bool(row["permit_join"]))
            heard.append((row["band"], row["channel"], row["rssi"], raw))
        for spoof in self.spoofers:
            if spoof.site in sites:
                raw = beacon_bytes(spoof.pan_id, spoof.extended_pan_id, True)
                heard.append((spoof.band, spoof.channel, spoof.rssi, raw))
        return heard

    def _foreign(self, sites: set[str]) -> list[dict[str, Any]]:
        rows = self.han.store.rows("SELECT * FROM foreign_beacons")
        return [row for row in rows if row["site"] in sites]

    def interpan_listeners(
        self, position: str | None, band: str, channel: int, now: float
    ) -> list[tuple[Listener, int]]:
        """Whoever hears an Inter-PAN frame on ``channel`` of ``band`` at ``position``,
        with the RSSI their answers arrive at."""
        found: list[tuple[Listener, int]] = []
        for hub in self.han.air.hubs_at(position):
            if (band, channel) in self.hub_channels(hub):
                endpoint = self.endpoint(hub["hub_id"])
                if endpoint is not None:
                    found.append((endpoint, hub["rssi"]))
        sites = set(self._sites(position))
        for spoof in self.spoofers:
            if spoof.site in sites and (spoof.band, spoof.channel) == (band, channel):
                found.append((spoof, spoof.rssi))
        return found

    def interpan_noise(
        self, position: str | None, hht: EUI64, now: float
    ) -> list[tuple[InterPanFrame, int]]:
        """Fake Initiate Key Establishment requests the pests send ``hht`` by ``now``."""
        sites = set(self._sites(position))
        frames: list[tuple[InterPanFrame, int]] = []
        for pest in self.pests:
            if pest.site not in sites or now - pest.last_sent < PEST_INTERVAL_SECONDS:
                continue
            pest.last_sent = now
            request = InitiateKeyEstablishment(2, 10, 10, pest.certificate)
            payload = key_establishment.encode_ke(request, Direction.CLIENT_TO_SERVER, 1)
            frame = InterPanFrame(
                seq=0,
                dst_pan=0xFFFF,
                dst=hht,
                src_pan=pest.pan_id,
                src=pest.address,
                cluster_id=key_establishment.CLUSTER_ID,
                payload=payload,
            )
            frames.append((frame, pest.rssi))
        return frames

    # ------------------------------------------------------------ attacks
    def add_spoof_storm(
        self, site: str, count: int = 50, *, claim: str | None = None, pests: int = 3
    ) -> None:
        """``count`` spoof networks at ``site`` (every fifth claims ``claim``, the site's
        hub id by default; the rest make ids up), some louder than the real hub, plus
        ``pests`` that keep sending fake key-establishment requests."""
        info = self.han.site(site)
        claimed = (claim or info.hub_id).upper()
        hub = self.han.hubs.hub(info.hub_id)
        assert hub is not None
        rng = random.Random(f"{self.han.seed}:spoof:{site}")
        if self._rogue is None:
            self._rogue = TestCa.create(seed=f"rogue:{self.han.seed}", issuer=ROGUE_ISSUER)
        rogue_claim = self._rogue.issue(EUI64.from_hex(claimed))
        for n in range(count):
            claims = n % 5 == 0
            epid = claimed if claims else f"{rng.getrandbits(64):016X}"
            self.spoofers.append(
                Spoofer(
                    site=info.name,
                    channel=hub["channel"] if claims else rng.choice(range(11, 27)),
                    pan_id=rng.randrange(1, 0xFFF0),
                    extended_pan_id=epid,
                    rssi=hub["rssi"] + rng.randint(-20, 10),
                    credentials=rogue_claim if claims else None,
                    band=hub["band"],
                    name=f"spoof:{n}",
                )
            )
        for _ in range(pests):
            pest_id = EUI64(rng.getrandbits(64))
            self.pests.append(
                Pest(
                    site=info.name,
                    channel=hub["channel"],
                    pan_id=rng.randrange(1, 0xFFF0),
                    address=pest_id,
                    rssi=hub["rssi"],
                    certificate=self._rogue.issue(pest_id).certificate,
                )
            )
        log.info("spoof storm at %s: %d networks, %d pests", site, count, pests)
