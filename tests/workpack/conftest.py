"""Work packs built with the project's test PKI against the demo data's simulated HAN."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from webapp.sim.demo import DEMO_SUPPLIER_EUI, DEMO_SUPPLIER_NAME
from webapp.sim.packs import BuiltPack, build_pack, seal
from webapp.store.db import Store
from webapp.workpack.archive import read_archive, write_archive
from webapp.workpack.manifest import MANIFEST_NAME, SIGNATURE_NAME

_pack_numbers = itertools.count(1)
COUNTER_BASE = 3 * 10**15  # above the demo's counters: every pack here is fresh


def job_spec(job_id: str, site: str, steps: list[str] | None = None, **extra: Any) -> dict:
    return {
        "id": job_id,
        "site": site,
        "address": f"{site}, Testtown TT1 1TT",
        "mpxn": "1"
        + hashlib.sha256(job_id.encode())
        .hexdigest()[:12]
        .translate(str.maketrans("abcdef", "123456")),
        "appointment": "2026-11-24",
        "assignee": "alex",
        "steps": steps or ["CCS01_ESME", "ECS70", "ECS17b"],
        "hub_install": {"chf_location": "Deep indoors", "aerial_install": False},
        "device_sets": [{"sim_site": site}],
        **extra,
    }


def pack_spec(*jobs: dict, pack_id: str | None = None, counter_start: int | None = None) -> dict:
    n = next(_pack_numbers)
    return {
        "pack_id": pack_id or f"TEST-{n:04d}",
        "supplier": {"eui": DEMO_SUPPLIER_EUI, "name": DEMO_SUPPLIER_NAME},
        "return_requests": {"target": "90B3D51F30000002", "counter_start": 7000},
        "counter_start": counter_start or COUNTER_BASE + n * 1000,
        "jobs": list(jobs),
    }


def unpack(data: bytes) -> tuple[dict[str, bytes], dict]:
    members = read_archive(data)
    return members, json.loads(members[MANIFEST_NAME])


def reseal(built: BuiltPack, members: dict[str, bytes], manifest: dict) -> bytes:
    """The pack with ``members`` changed, signed again properly by the supplier."""
    content = {k: v for k, v in members.items() if k not in (MANIFEST_NAME, SIGNATURE_NAME)}
    manifest = {k: v for k, v in manifest.items() if k != "files"}
    return write_archive(seal(content, manifest, built.supplier.private_key))


def db_state(data_dir: Path) -> dict[str, int]:
    """Row counts of every table: equal before and after means nothing was written."""
    store = Store.open(data_dir)
    try:
        db = store.reader()
        return {t: db[t].count for t in db.table_names()}
    finally:
        store.close()


@pytest.fixture
def build(demo_dir: Path):  # type: ignore[no-untyped-def]
    def make(spec: dict, **kwargs: Any) -> BuiltPack:
        return build_pack(spec, demo_dir, **kwargs)

    return make


@pytest.fixture
def store(demo_dir: Path):  # type: ignore[no-untyped-def]
    s = Store.open(demo_dir)
    yield s
    s.close()
