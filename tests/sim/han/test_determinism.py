"""The same seed gives the same HAN: identifiers, keys, beacons, timings."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.conftest import FAST, START, Commands
from tests.sim.conftest import run
from webapp.sim.han.clock import SimClock
from webapp.sim.han.han import SimHan


def _build(directory: Path, seed: int, supplier) -> dict:
    han = SimHan.create(
        directory, seed=seed, clock=SimClock(FAST, start=START, monotonic=lambda: 0.0)
    )
    try:
        site = han.add_site(name="Same", neighbours=2, unknown_networks=3)
        second = han.add_site(name="Other", neighbours=0)
        han.hubs.submit(site.hub_id, Commands(han, supplier)(site.esme_id, 9), "hht")
        certificate = x509.load_pem_x509_certificate(han.device_certificate_pem(site.esme_id))
        return {
            "sites": [site, second],
            "beacons": run(han.driver().active_scan()),
            "mac": han.device_mac_key(site.gsme_id),
            "public_key": certificate.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            "due": han.store.rows("SELECT device, due_at FROM pending"),
            "wake": han.hubs.device(site.gsme_id)["wake_anchor"],
        }
    finally:
        han.close()


def test_same_seed_same_han(tmp_path, supplier) -> None:
    first = _build(tmp_path / "a", 5, supplier)
    second = _build(tmp_path / "b", 5, supplier)
    assert first == second
    site = first["sites"][0]
    assert site.hub_id.startswith("00DB") and len(site.hub_id) == 16
    assert len({site.hub_id, site.chf_id, site.esme_id, site.gsme_id, site.ihd_id}) == 5
    assert len(site.neighbour_hub_ids) == 2


def test_other_seed_other_han(tmp_path, supplier) -> None:
    first = _build(tmp_path / "a", 5, supplier)
    other = _build(tmp_path / "b", 6, supplier)
    assert first["sites"][0].hub_id != other["sites"][0].hub_id
    assert first["mac"] != other["mac"]


def test_site_seed_wins(tmp_path) -> None:
    ids = []
    for name, han_seed in (("x", 1), ("y", 2)):
        han = SimHan.create(tmp_path / name, seed=han_seed)
        try:
            ids.append(han.add_site(name="Fixed", seed=99).hub_id)
        finally:
            han.close()
    assert ids[0] == ids[1]
