"""Build a pack, load it, run its jobs on the simulated HAN, unload, and check the DUIS."""

from __future__ import annotations

import asyncio
import base64
import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import closed_out
from tests.duis.schema import needs_schema, validate
from tests.workpack.conftest import job_spec, pack_spec
from webapp.cli.run_job import run_job_headless
from webapp.duis import parse_request, verify_enveloped
from webapp.gbcs.message import parse_message
from webapp.identity import terminal_identity
from webapp.workpack.errors import WorkPackError
from webapp.workpack.load import load_pack
from webapp.workpack.trust import verify_detached
from webapp.workpack.unload import confirm_received, make_unload, waiting_by_supplier

SUPPLIER = "90B3D51F30DE0001"
FAST = 1000.0


def _run(demo_dir: Path, job_id: str) -> dict:
    return asyncio.run(run_job_headless(demo_dir, job_id, FAST))


def _unload(store, demo_dir: Path, **kwargs):  # type: ignore[no-untyped-def]
    return make_unload(store, SUPPLIER, terminal_identity(demo_dir), actor="test", **kwargs)


def _bodies(path: Path) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    return json.loads(files["manifest.json"]), files


@pytest.fixture
def loaded(store, build, demo_dir):  # type: ignore[no-untyped-def]
    spec = pack_spec(
        job_spec("RT1", "1 Round Road", ["CCS01_ESME", "ECS70", "ECS17b", "ECS52"]),
        job_spec("RT2", "2 Round Road", ["CCS01_ESME", "ECS17b"]),
    )
    load_pack(store, build(spec).data(), source="t", actor="test")
    for job_id in ("RT1", "RT2"):
        assert _run(demo_dir, job_id)["status"] == "completed"
        with store.write() as db:
            db["jobs"].update(job_id, {"hub_install": closed_out()})
    return store


def test_every_device_response_is_unloaded_exactly_once(loaded, demo_dir) -> None:
    store = loaded
    db = store.reader()
    answered = {
        r["sha256"]: r
        for r in db.query(
            "SELECT r.* FROM responses r JOIN commands c ON c.id = r.command_id "
            "WHERE c.job_id IN ('RT1', 'RT2')"
        )
    }
    assert len(answered) == 6
    made = _unload(store, demo_dir)
    manifest, files = _bodies(made.path)
    assert made.responses == 6 + sum(
        1
        for r in db.query(
            "SELECT id FROM responses WHERE duplicate_of IS NULL AND "
            "command_id IS NOT NULL AND job_id NOT IN ('RT1','RT2')"
        )
    )
    carried = []
    for item in manifest["responses"]:
        request = parse_request(files[item["file"]])
        assert request["service_reference_variant"] == "8.13"
        assert request["command_variant"] == "8"
        element = request["element"]
        raw = base64.b64decode(element.findtext("{*}DeviceGBCSResponse"))
        original = element.findtext("{*}OriginalRequestID")
        assert original == item["original_request_id"]
        msg = parse_message(raw)
        assert original.endswith(f":{msg.counter}")
        carried.append(raw)
    mine = [r for r in carried if r in {bytes(a["raw"]) for a in answered.values()}]
    assert len(mine) == 6 and len(set(mine)) == 6  # every answer, once each
    assert {s["job_id"] for s in manifest["hub_statuses"]} >= {"RT1", "RT2"}
    for status in manifest["hub_statuses"]:
        assert parse_request(files[status["file"]])["service_reference_variant"] == "8.14.1"
    terminal = terminal_identity(demo_dir)
    assert (
        verify_detached(files["manifest.json"], files["manifest.sig"], terminal.certificate) is None
    )


@needs_schema
@pytest.mark.shared
def test_unloaded_bodies_validate_against_duis_v54(loaded, demo_dir) -> None:
    manifest, files = _bodies(_unload(loaded, demo_dir).path)
    names = [i["file"] for i in manifest["responses"] + manifest["hub_statuses"]]
    assert names
    for name in names:
        validate(files[name])


@needs_schema
@pytest.mark.shared
def test_the_packs_duis_files_validate_against_duis_v54(build) -> None:
    built = build(pack_spec(job_spec("V1", "1 Valid Road")))
    xml = [d for n, d in built.members.items() if n.startswith("duis/")]
    assert len(xml) == 3
    for data in xml:
        validate(data)


def test_duis_signing_key_signs_every_body(loaded, demo_dir) -> None:
    from webapp.identity import duis_signing_identity, install_duis_signing_key
    from webapp.sim.pki import TestPki

    pki = TestPki.load_or_create(demo_dir / "pki")
    signer = pki.issue("90B3D51F30DE0001", "ds")
    from cryptography.hazmat.primitives import serialization

    install_duis_signing_key(
        demo_dir,
        signer.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        signer.certificate.public_bytes(serialization.Encoding.PEM),
    )
    made = _unload(loaded, demo_dir, duis_signer=duis_signing_identity(demo_dir))
    manifest, files = _bodies(made.path)
    assert manifest["duis_signed"] is True
    for item in manifest["responses"]:
        verify_enveloped(files[item["file"]], signer.public_key)


def test_items_wait_until_receipt_is_confirmed(loaded, demo_dir) -> None:
    store = loaded
    first = _unload(store, demo_dir)
    waiting = {w["supplier_eui"]: w for w in waiting_by_supplier(store.reader())}
    assert waiting[SUPPLIER]["responses"] == first.responses  # not confirmed: still waiting
    second = _unload(store, demo_dir)  # the first went missing: the same answers again
    assert second.responses == first.responses
    with store.write() as db:
        assert confirm_received(db, second.id, "test") == second.responses + second.hub_statuses
    assert SUPPLIER not in {w["supplier_eui"] for w in waiting_by_supplier(store.reader())}
    with pytest.raises(WorkPackError, match="nothing is waiting"):
        _unload(store, demo_dir)
    with store.write() as db, pytest.raises(WorkPackError, match="confirmed already"):
        confirm_received(db, second.id, "test")
    # nothing was deleted: every response is still in the database
    assert store.reader()["responses"].count >= first.responses
    assert list((demo_dir / "backups").glob("before-unload-*.db"))  # a backup before each


def test_a_response_that_came_by_both_routes_is_sent_once_and_marked(loaded, demo_dir) -> None:
    store = loaded
    with store.write() as db:
        row = next(db.query("SELECT * FROM responses WHERE job_id = 'RT2' ORDER BY id LIMIT 1"))
        copy = dict(row, id=None, route="wan", duplicate_of=row["id"], sha256="0" * 64)
        db["responses"].insert(copy)
    manifest, _ = _bodies(_unload(store, demo_dir).path)
    items = [i for i in manifest["responses"] if i["job_id"] == "RT2"]
    assert len(items) == 2  # RT2 had two commands: each answer once
    marked = [i for i in items if i["routes"] == ["hht", "wan"]]
    assert len(marked) == 1 and marked[0]["may_also_reach_you_by_wan"] is True


def test_no_wan_hub_install_becomes_8_14_2(loaded, demo_dir) -> None:
    store = loaded
    with store.write() as db:
        db["jobs"].update(
            "RT2",
            {
                "hub_install": closed_out(
                    chf_location="Basement or Cellar",
                    aerial_install="yes",
                    sm_wan="no",
                    premise_type="Terraced",
                )
            },
        )
    manifest, files = _bodies(_unload(store, demo_dir).path)
    status = next(s for s in manifest["hub_statuses"] if s["job_id"] == "RT2")
    assert status["service_reference_variant"] == "8.14.2"
    body = parse_request(files[status["file"]])
    assert body["body"] == "CHFInstallSuccessNoSMWAN"
    assert body["element"].findtext("{*}PremiseType") == "Terraced"
