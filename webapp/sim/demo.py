"""Demo data: a supplier, installers, a street of simulated homes and their install jobs.

The jobs come from the demo work pack (:func:`demo_pack_spec`), built by
:mod:`webapp.sim.packs` from the steps and plans of :mod:`webapp.sim.catalogue` and loaded
as a supervisor would load it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from webapp import config
from webapp.auth.users import INSTALLER, SUPERVISOR, add_user, find_user
from webapp.sim.catalogue import (
    DUAL_FUEL_INSTALL,
    ELECTRICITY_INSTALL,
    ESME_REPLACEMENT,
    FAULT_REPORT,
    GAS_EXCHANGE,
    GSME_REJOIN,
    NO_WAN_TIME,
    PLANS,
    STEPS,
    Step,
)
from webapp.sim.han.han import SimHan
from webapp.sim.pki import TestPki
from webapp.store.db import Store

DEMO_SUPPLIER_EUI = "90B3D51F30DE0001"
DEMO_SUPPLIER_NAME = "Demo Energy Supply Ltd"
DEMO_INSTALLER = ("alex", "Alex Installer", "246810")
DEMO_INSTALLER_2 = ("jo", "Jo Installer", "135791")
DEMO_SUPERVISOR = ("sam", "Sam Supervisor", "supervise-demo")
DEMO_SEED = 20261123


@dataclass
class DemoSite:
    name: str
    address: str
    mpxn: str
    steps: list[Step]
    assignee: str
    kind: str = "install"  # maintenance: an installed home, its window long closed
    opens_without_wan: bool = False  # the hub's policy of opening its window with no WAN
    gsme_dropped: bool = False  # its gas meter has dropped off the hub's HAN


DEMO_SITES = [
    DemoSite(
        "14 Acacia Avenue",
        "14 Acacia Avenue, Leeds LS6 2AB",
        "1012345678901",
        DUAL_FUEL_INSTALL,
        "alex",
    ),
    DemoSite(
        "16 Acacia Avenue",
        "16 Acacia Avenue, Leeds LS6 2AB",
        "1012345678918",
        ELECTRICITY_INSTALL,
        "alex",
    ),
    DemoSite(
        "21 Acacia Avenue", "21 Acacia Avenue, Leeds LS6 2AB", "7123456789", GAS_EXCHANGE, "alex"
    ),
    DemoSite(
        "3 Mill Lane", "3 Mill Lane, Leeds LS6 4QT", "1098765432109", ELECTRICITY_INSTALL, "jo"
    ),
    DemoSite(
        "5 Elm Row",
        "5 Elm Row, Leeds LS6 3EL",
        "1012345678925",
        ESME_REPLACEMENT,
        "alex",
        kind="maintenance",
    ),
    DemoSite(
        "9 Elm Row",
        "9 Elm Row, Leeds LS6 3EL",
        "1012345678932",
        FAULT_REPORT,
        "alex",
        kind="maintenance",
        opens_without_wan=True,
    ),
    DemoSite(
        "11 Elm Row",
        "11 Elm Row, Leeds LS6 3EL",
        "7123456796",
        GSME_REJOIN,
        "jo",
        kind="maintenance",
        gsme_dropped=True,
    ),
    DemoSite(
        "13 Elm Row",
        "13 Elm Row, Leeds LS6 3EL",
        "1012345678949",
        NO_WAN_TIME,
        "jo",
        kind="maintenance",
    ),
]


def visit_pin(seed: int, site: str) -> str:
    """The demo supplier's installer PIN for a maintenance visit to ``site``."""
    return f"{random.Random(f'{seed}:visit-pin:{site}').randrange(10**6):06d}"


def ensure_demo_users(db) -> None:  # type: ignore[no-untyped-def]
    for username, name, secret in (DEMO_INSTALLER, DEMO_INSTALLER_2):
        if find_user(db, username) is None:
            add_user(db, username, INSTALLER, secret, name)
    username, name, secret = DEMO_SUPERVISOR
    if find_user(db, username) is None:
        add_user(db, username, SUPERVISOR, secret, name)


DEMO_PACK_SPEC_FILE = "demo-workpack.json"
DEMO_PACK_FILE = "demo-workpack.zip"
# the supplier's records name another hub for 3 Mill Lane: a candidate set that is not there
ALTERNATIVE_DEVICES = {
    "hub": "00DB00000000A001",
    "gpf": "00DB00000000A001",
    "chf": "00DB00000000A000",
    "esme": "70B3D50000000A01",
    "gsme": "70B3D50000000A02",
    "ihd": "70B3D50000000A03",
}


def demo_pack_spec(day: date, *, pack_id: str | None = None, seed: int = DEMO_SEED) -> dict:
    """The build description of the demo work pack (README, "Building packs")."""
    jobs = []
    for n, demo in enumerate(DEMO_SITES, 1):
        sets: list[dict] = [{"sim_site": demo.name}]
        if demo.name == "3 Mill Lane":
            # the supplier is not sure which hub is there: two candidate device sets
            sets.insert(0, {"devices": ALTERNATIVE_DEVICES, "label": "A"})
            sets[1]["label"] = "B"
        job = {
            "id": f"J{day.strftime('%y%m%d')}-{n:02d}",
            "site": demo.name,
            "address": demo.address,
            "mpxn": demo.mpxn,
            "appointment": day.isoformat(),
            "assignee": demo.assignee,
            "steps": [next(k for k, v in STEPS.items() if v is step) for step in demo.steps],
            "device_sets": sets,
        }
        if demo.kind == "maintenance":
            plan = next(name for name, steps in PLANS.items() if steps == demo.steps)
            job |= {
                "kind": "maintenance",
                "plan": plan,
                "installer_pin": visit_pin(seed, demo.name),
            }
            del job["steps"]
            sets[0] |= {
                "installed": True,
                "opens_without_wan": demo.opens_without_wan,
                "gsme_dropped": demo.gsme_dropped,
            }
        else:
            job["hub_install"] = {
                "install_type": "New CHF Install",
                "chf_location": "Indoors on external wall",
                "aerial_install": False,
            }
        jobs.append(job)
    return {
        "pack_id": pack_id or f"DEMO-{day.isoformat()}",
        "supplier": {"eui": DEMO_SUPPLIER_EUI, "name": DEMO_SUPPLIER_NAME},
        "return_requests": {"target": "90B3D51F30000002", "counter_start": 1},
        "jobs": jobs,
    }


def create_demo(data_dir: Path, *, seed: int = DEMO_SEED, day: date | None = None) -> list[str]:
    """Create the demo supplier, users and simulated street, then build the demo work pack
    and load it as a supervisor would; return the job ids."""
    import json

    from webapp.sim.packs import build_pack
    from webapp.workpack.load import load_pack
    from webapp.workpack.trust import add_supplier

    day = day or date.today()
    store = Store.open(data_dir)
    try:
        pki = TestPki.load_or_create(config.ensure_private_dir(data_dir / config.PKI_DIR))
        supplier = pki.load_or_issue(DEMO_SUPPLIER_EUI, "ds")
        han = SimHan.create(data_dir / config.SIM_DIR, seed=seed)
        try:
            for i, s in enumerate(DEMO_SITES):
                han.add_site(
                    name=s.name,
                    seed=seed + i,
                    neighbours=1,
                    unknown_networks=1 if i else 2,
                    installed=s.kind == "maintenance",
                    opens_without_wan=s.opens_without_wan,
                    gsme_dropped=s.gsme_dropped,
                )
        finally:
            han.close()
        with store.write() as db:
            ensure_demo_users(db)
            add_supplier(
                db,
                supplier.certificate.public_bytes(serialization.Encoding.PEM),
                DEMO_SUPPLIER_NAME,
            )
        spec = demo_pack_spec(day, seed=seed)
        (data_dir / DEMO_PACK_SPEC_FILE).write_text(json.dumps(spec, indent=1))
        pack = build_pack(spec, data_dir).data()
        (data_dir / DEMO_PACK_FILE).write_bytes(pack)
        result = load_pack(store, pack, source=DEMO_PACK_FILE, actor="demo")
    finally:
        store.close()
    return result.job_ids


def demo_visits(data_dir: Path) -> list[dict[str, str]]:
    """The demo's maintenance visits: job, site, hub and the installer PIN its work pack
    carries (``hht init --demo`` prints them as it prints the logins)."""
    import json

    spec = json.loads((data_dir / DEMO_PACK_SPEC_FILE).read_text())
    han = SimHan.open(data_dir / config.SIM_DIR)
    try:
        return [
            {
                "job": job["id"],
                "site": job["site"],
                "hub": han.site(job["site"]).hub_id,
                "pin": job["installer_pin"],
            }
            for job in spec["jobs"]
            if job.get("kind") == "maintenance"
        ]
    finally:
        han.close()
