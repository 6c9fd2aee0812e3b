"""The central unload: hub statuses by the HHT's own close-out rule, and a signed manifest."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from tests.fleet.conftest import hht_rows, sync
from webapp.fleet.office import unload as central
from webapp.fleet.office.identity import FleetIdentityError, fleet_identity, load
from webapp.identity import terminal_identity
from webapp.jobs.closeout import stamp
from webapp.sim.demo import DEMO_SUPPLIER_EUI
from webapp.store.db import Store
from webapp.workpack.trust import sign_detached
from webapp.workpack.unload import make_unload, waiting_by_supplier

HUB_A, HUB_B = "00DB120000000AAA", "00DB120000000BBB"
INSTALLED = {
    "installed": True,
    "install_type": "New CHF Install",
    "chf_location": "Indoors on external wall",
    "aerial_install": False,
    "sm_wan": True,
}


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _finish(data_dir: Path, job_id: str, hub: str, at: str, record: dict | None) -> None:
    """Make ``job_id`` a finished job at ``hub`` with ``record`` as its close-out (None: only
    the work pack's preset, never recorded by an installer)."""
    hub_install = (
        stamp(record, by="alex", at=at)
        if record is not None
        else json.dumps({"chf_location": "Indoors on external wall"})
    )
    db = sqlite3.connect(data_dir / "hht.sqlite")
    try:
        db.execute(
            "UPDATE jobs SET status = 'completed', connected_hub_id = ?, finished_at = ?, "
            "hub_install = ? WHERE id = ?",
            [hub, at, hub_install, job_id],
        )
        db.commit()
    finally:
        db.close()


def _hht_hub_statuses(data_dir: Path) -> tuple[int, list[str]]:
    """What the HHT itself would hand back: its waiting count of hub statuses and the jobs
    its own unload makes one for (on a copy, so the original is left as it was)."""
    copy = data_dir.with_name(data_dir.name + "-copy")
    shutil.copytree(data_dir, copy)
    store = Store.open(copy)
    try:
        waiting = {w["supplier_eui"]: w for w in waiting_by_supplier(store.reader())}
        made = make_unload(store, DEMO_SUPPLIER_EUI, terminal_identity(copy), actor="test")
    finally:
        store.close()
    manifest = json.loads(_members(made.path.read_bytes())["manifest.json"])
    count = waiting.get(DEMO_SUPPLIER_EUI, {}).get("hub_statuses", 0)
    return count, sorted(s["job_id"] for s in manifest["hub_statuses"])


def test_hub_statuses_follow_the_hhts_close_out_rule(make_hht, conn, signer) -> None:
    van = make_hht("van-h")
    jobs = [r["id"] for r in hht_rows(van, "SELECT id FROM jobs ORDER BY id")]
    assert len(jobs) >= 4
    _finish(van, jobs[0], HUB_A, "2026-12-01T09:00:00+00:00", INSTALLED)
    _finish(van, jobs[1], HUB_A, "2026-12-01T11:00:00+00:00", {**INSTALLED, "sm_wan": True})
    _finish(
        van, jobs[2], HUB_B, "2026-12-01T12:00:00+00:00", {"installed": False, "reason": "unsafe"}
    )
    _finish(van, jobs[3], HUB_B, "2026-12-01T13:00:00+00:00", None)
    hht_count, hht_jobs = _hht_hub_statuses(van)
    assert (hht_count, hht_jobs) == (1, [jobs[1]])  # one hub installed, its latest close-out
    sync(van)
    waiting = {w["supplier_eui"]: w for w in central.waiting(conn)}
    assert waiting[DEMO_SUPPLIER_EUI]["hub_statuses"] == hht_count
    made = central.make(conn, DEMO_SUPPLIER_EUI, "test", signer)
    manifest = json.loads(_members(made.data)["manifest.json"])
    assert sorted(s["job_id"] for s in manifest["hub_statuses"]) == hht_jobs
    assert made.hub_statuses == 1
    recorded = conn.execute(
        "SELECT ref, request_id FROM central_unload_items WHERE unload_id = %s "
        "AND kind = 'hub-status' ORDER BY ref",
        [made.id],
    ).fetchall()
    # the earlier job at hub A is confirmed with the one status that speaks for the hub
    assert [r["ref"] for r in recorded] == sorted([jobs[0], jobs[1]])
    assert len({r["request_id"] for r in recorded}) == 1
    central.confirm_received(conn, made.id, "test")
    assert all(w["hub_statuses"] == 0 for w in central.waiting(conn))
    sync(van)  # the HHT marks both jobs, and owes no hub status any more
    marked = hht_rows(van, "SELECT id FROM jobs WHERE hub_status_unload_id IS NOT NULL ORDER BY id")
    assert [m["id"] for m in marked] == sorted([jobs[0], jobs[1]])
    store = Store.open(van)
    try:
        left = {w["supplier_eui"]: w for w in waiting_by_supplier(store.reader())}
    finally:
        store.close()
    assert left.get(DEMO_SUPPLIER_EUI, {}).get("hub_statuses", 0) == 0


def test_the_central_unload_is_signed_by_the_fleet_and_tampering_shows(
    make_hht, conn, signer, tmp_path
) -> None:
    van = make_hht("van-s")
    sync(van)
    made = central.make(conn, DEMO_SUPPLIER_EUI, "test", signer)
    members = _members(made.data)
    manifest = json.loads(members["manifest.json"])
    assert manifest["fleet"] == {"id": signer.terminal_id, "fingerprint": signer.fingerprint}
    assert members["fleet.pem"] == signer.certificate_pem
    assert central.check_signature(made.data, signer.fingerprint) is None

    def rebuilt(**changes: bytes) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for name, body in {**members, **changes}.items():
                z.writestr(name, body)
        return out.getvalue()

    edited = members["manifest.json"].replace(b'"outcome": "success"', b'"outcome": "failure"')
    assert edited != members["manifest.json"]
    assert "signature" in central.check_signature(rebuilt(**{"manifest.json": edited}))
    first = manifest["responses"][0]["file"]
    swapped = rebuilt(**{first: members[first].replace(b"<", b" <", 1)})
    assert "not the file" in central.check_signature(swapped)
    # re-signed by someone else with their own certificate: fine by itself, not the fleet's
    other = fleet_identity(tmp_path / "other")
    resigned = rebuilt(
        **{
            "manifest.sig": sign_detached(members["manifest.json"], other.key),
            "fleet.pem": other.certificate_pem,
        }
    )
    assert central.check_signature(resigned) is None
    assert "another certificate" in central.check_signature(resigned, signer.fingerprint)


def test_the_fleet_identity_is_made_once_owner_only_or_given_by_path(tmp_path) -> None:
    first = fleet_identity(tmp_path / "id")
    again = fleet_identity(tmp_path / "id")
    assert first.fingerprint == again.fingerprint and first.terminal_id.startswith("FLEET-")
    assert (tmp_path / "id" / "fleet-signing.key").stat().st_mode & 0o077 == 0
    given = load(tmp_path / "id" / "fleet-signing.key", tmp_path / "id" / "fleet-signing.pem")
    assert given.fingerprint == first.fingerprint
    other = fleet_identity(tmp_path / "other")
    with pytest.raises(FleetIdentityError, match="not the certificate"):
        load(tmp_path / "id" / "fleet-signing.key", tmp_path / "other" / "fleet-signing.pem")
    assert other.fingerprint != first.fingerprint
    with pytest.raises(FleetIdentityError, match="no fleet signing identity"):
        fleet_identity(tmp_path / "never-made", create=False)
    assert not (tmp_path / "never-made").exists()


def test_hht_fleet_unload_signs_with_the_identity_migrate_made(
    make_hht, conn, pg, tmp_path
) -> None:
    from click.testing import CliRunner

    from webapp.cli.group import main

    sync(make_hht("van-c"))
    runner = CliRunner()
    missing = runner.invoke(
        main,
        ["fleet", "unload", DEMO_SUPPLIER_EUI, "--dsn", pg.dsn(), "--out", str(tmp_path),
         "--identity-dir", str(tmp_path / "nowhere")],
    )  # fmt: skip
    assert missing.exit_code == 2 and "no fleet signing identity" in missing.output
    made = runner.invoke(
        main,
        ["fleet", "migrate", "--dsn", pg.dsn(), "--identity-dir", str(tmp_path / "id")],
    )
    assert made.exit_code == 0, made.output
    fingerprint = fleet_identity(tmp_path / "id", create=False).fingerprint
    assert fingerprint in made.output
    out = runner.invoke(
        main,
        ["fleet", "unload", DEMO_SUPPLIER_EUI, "--dsn", pg.dsn(), "--out", str(tmp_path),
         "--identity-dir", str(tmp_path / "id")],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    (archive,) = tmp_path.glob("fleet-unload-*.zip")
    assert central.check_signature(archive.read_bytes(), fingerprint) is None
