"""Planning a site: one home hub with its devices, neighbour hubs and foreign beacons.

Pure: everything comes from the site seed (a random.Random), so the same seed gives the
same identifiers, channels and signal strengths.  Identifiers look like real ones: hub
entity ids start 00DB (as in the DCC test data), meters and displays carry other
manufacturers' prefixes.
"""

from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from webapp.sim.medium import CHANNELS
from webapp.zigbee.drivers.base import BAND_2_4_GHZ, BAND_868_MHZ

log = logging.getLogger(__name__)

HUB_PREFIX = "00DB"
ESME_PREFIX = "70B3D5"
GSME_PREFIX = "001BC5"
IHD_PREFIX = "000D6F"
FOREIGN_PREFIXES = ("00178801", "ECFABC", "842E14")  # lights, plugs, sensors
HOME_RSSI = (-55, -40)
NEIGHBOUR_RSSI = (-85, -65)
FOREIGN_RSSI = (-90, -58)
NEIGHBOUR_POWERED_ON_AGO = (10 * 60.0, 3 * 3600.0)  # some neighbours' windows still open
FOREIGN_PERMIT_JOIN_CHANCE = 0.2


class Role(StrEnum):
    HOME = "home"
    NEIGHBOUR = "neighbour"


@dataclass(frozen=True)
class HubPlan:
    role: Role
    hub_id: str  # GPF entity id = extended PAN id
    chf_id: str
    esme_id: str
    gsme_id: str
    ihd_id: str
    channel: int
    pan_id: int
    rssi: int
    power_on_at: float
    gsme_wake_offset: float  # fraction of the wake interval after power-on of the first wake


@dataclass(frozen=True)
class ForeignBeacon:
    channel: int
    pan_id: int
    extended_pan_id: str
    rssi: int
    permit_join: bool


@dataclass(frozen=True)
class SitePlan:
    name: str
    seed: int
    band: str
    home: HubPlan
    neighbours: list[HubPlan] = field(default_factory=list)
    foreign: list[ForeignBeacon] = field(default_factory=list)

    @property
    def hubs(self) -> list[HubPlan]:
        return [self.home, *self.neighbours]


@dataclass(frozen=True)
class SiteInfo:
    """What the rest of the project needs to know about a simulated site."""

    name: str
    hub_id: str
    chf_id: str
    esme_id: str
    gsme_id: str
    ihd_id: str
    neighbour_hub_ids: tuple[str, ...]
    band: str

    def to_dict(self) -> dict:
        data = asdict(self)
        data["neighbour_hub_ids"] = list(self.neighbour_hub_ids)
        return data


class _Euis:
    def __init__(self, rng: random.Random, taken: set[str]) -> None:
        self.rng = rng
        self.taken = taken

    def draw(self, prefix: str, count: int = 1) -> list[str]:
        """``count`` consecutive unused EUIs starting with ``prefix``."""
        digits = 16 - len(prefix)
        while True:
            start = self.rng.randrange((1 << (4 * digits)) - count)
            euis = [f"{prefix}{start + i:0{digits}X}" for i in range(count)]
            if not self.taken.intersection(euis):
                self.taken.update(euis)
                return euis


def _hub(
    rng: random.Random,
    euis: _Euis,
    role: Role,
    band: str,
    rssi_range: tuple[int, int],
    power_on_at: float,
) -> HubPlan:
    chf_id, hub_id = euis.draw(HUB_PREFIX, 2)
    low, high = CHANNELS[band]
    return HubPlan(
        role=role,
        hub_id=hub_id,
        chf_id=chf_id,
        esme_id=euis.draw(ESME_PREFIX)[0],
        gsme_id=euis.draw(GSME_PREFIX)[0],
        ihd_id=euis.draw(IHD_PREFIX)[0],
        channel=rng.randint(low, high),
        pan_id=rng.randint(0x0001, 0xFFFE),
        rssi=rng.randint(*rssi_range),
        power_on_at=power_on_at,
        gsme_wake_offset=rng.random(),
    )


def plan_site(
    *,
    name: str,
    seed: int,
    band: str,
    neighbours: int,
    unknown_networks: int,
    now: float,
    taken: set[str],
) -> SitePlan:
    """Lay out one site; ``taken`` (EUIs already in the HAN) is extended with the new ones."""
    if band not in CHANNELS:
        raise ValueError(f"unknown band {band!r}; use {BAND_2_4_GHZ!r} or {BAND_868_MHZ!r}")
    if neighbours < 0 or unknown_networks < 0:
        raise ValueError("neighbours and unknown_networks must not be negative")
    rng = random.Random(seed)
    euis = _Euis(rng, taken)
    home = _hub(rng, euis, Role.HOME, band, HOME_RSSI, now)
    others = [
        _hub(
            rng,
            euis,
            Role.NEIGHBOUR,
            band,
            NEIGHBOUR_RSSI,
            now - rng.uniform(*NEIGHBOUR_POWERED_ON_AGO),
        )
        for _ in range(neighbours)
    ]
    low, high = CHANNELS[BAND_2_4_GHZ]
    foreign = []
    for _ in range(unknown_networks):
        prefix = rng.choice(FOREIGN_PREFIXES)
        foreign.append(
            ForeignBeacon(
                channel=rng.randint(low, high),
                pan_id=rng.randint(0x0001, 0xFFFE),
                extended_pan_id=euis.draw(prefix)[0],
                rssi=rng.randint(*FOREIGN_RSSI),
                permit_join=rng.random() < FOREIGN_PERMIT_JOIN_CHANCE,
            )
        )
    return SitePlan(name=name, seed=seed, band=band, home=home, neighbours=others, foreign=foreign)
