"""Fleet → HHT packs, the central unload, keyset paging and the pages' security."""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import UTC, datetime

import pytest

from tests.duis.schema import SCHEMA_FILE, SHARED_DUIS, validate
from tests.fleet.conftest import hht_rows, sync
from tests.workpack.conftest import job_spec, pack_spec
from webapp.cli.run_job import run_job_headless
from webapp.duis import parse_request
from webapp.fleet.office import history, packs
from webapp.fleet.office import unload as central
from webapp.identity import terminal_identity
from webapp.sim.demo import DEMO_SUPPLIER_EUI
from webapp.sim.packs import build_pack
from webapp.store.db import Store
from webapp.workpack.unload import make_unload, waiting_by_supplier

FAST = 1000.0


def _bodies(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_a_pack_for_an_installer_reaches_its_hht_runs_and_comes_back_unloaded_once(
    make_hht, conn, signer
) -> None:
    van, other = make_hht("van-p"), make_hht("van-q")
    sync(van)  # the fleet learns van-p's installers
    built = build_pack(pack_spec(job_spec("FP1", "1 Fleet Road", ["CCS01_ESME", "ECS17b"])), van)
    packs.publish(conn, built.data(), actor="test", installer="alex")
    report = sync(van)
    assert len(report.packs_loaded) == 1
    assert sync(other).packs_loaded == []  # bound to the first HHT of that installer
    rows = packs.deliveries(conn)
    assert [(r["hht"], r["state"]) for r in rows] == [("van-p", "loaded")]
    assert hht_rows(van, "SELECT id FROM jobs WHERE id = 'FP1'") == [{"id": "FP1"}]
    assert asyncio.run(run_job_headless(van, "FP1", FAST))["status"] == "completed"
    sync(van)
    hht_id = terminal_identity(van).terminal_id
    job = conn.execute(
        "SELECT status, answered FROM jobs WHERE hht_id = %s AND id = 'FP1'", [hht_id]
    ).fetchone()
    assert job["status"] == "completed" and job["answered"] == 2

    waiting = {w["supplier_eui"]: w for w in central.waiting(conn)}
    expected = conn.execute(
        "SELECT count(*) AS n FROM responses r JOIN commands c ON c.hht_id = r.hht_id "
        "AND c.id = r.command_id WHERE r.duplicate_of IS NULL"
    ).fetchone()["n"]
    assert waiting[DEMO_SUPPLIER_EUI]["responses"] == expected
    made = central.make(conn, DEMO_SUPPLIER_EUI, "test", signer)
    files = _bodies(made.data)
    import json

    manifest = json.loads(files["manifest.json"])
    carried = [(i["hht"], i["job_id"], i["command_seq"]) for i in manifest["responses"]]
    assert len(carried) == len(set(carried)) == expected
    for item in manifest["responses"] + manifest["hub_statuses"]:
        request = parse_request(files[item["file"]])
        assert request["service_reference_variant"] == item["service_reference_variant"]
        if (SHARED_DUIS / SCHEMA_FILE).is_file():
            validate(files[item["file"]])
    # not confirmed: still waiting (made again if lost); confirmed: nothing waits
    assert central.waiting(conn)
    central.confirm_received(conn, made.id, "test")
    assert central.waiting(conn) == []
    with pytest.raises(central.CentralUnloadError):
        central.make(conn, DEMO_SUPPLIER_EUI, "test", signer)
    # the HHT marks them at its next sync and offers them no more
    assert sync(van).marked_central == manifest_count(manifest, hht_id)
    store = Store.open(van)
    try:
        left = waiting_by_supplier(store.reader())
    finally:
        store.close()
    assert all(w["responses"] == 0 for w in left)  # no answer is offered twice


def manifest_count(manifest: dict, hht_id: str) -> int:
    return sum(1 for i in manifest["responses"] + manifest["hub_statuses"] if i["hht"] == hht_id)


def test_answers_unloaded_on_the_hht_are_not_unloaded_centrally(make_hht, conn, signer) -> None:
    van = make_hht("van-u")
    store = Store.open(van)
    try:
        made = make_unload(store, DEMO_SUPPLIER_EUI, terminal_identity(van), actor="test")
    finally:
        store.close()
    assert made.responses > 0
    sync(van)
    assert all(w["responses"] == 0 for w in central.waiting(conn))
    try:
        again = central.make(conn, DEMO_SUPPLIER_EUI, "test", signer)
    except central.CentralUnloadError:
        return  # nothing at all waits
    assert again.responses == 0  # only what the HHT did not unload (a hub status) goes


def _many_jobs(conn, count: int) -> None:  # type: ignore[no-untyped-def]
    for name in ("h1", "h2"):
        conn.execute(
            "INSERT INTO hhts (id, name, fingerprint, certificate_pem) VALUES (%s, %s, %s, '')",
            [f"HHT-{name.upper():0>12}", name, name],
        )
    at = datetime(2026, 11, 24, 9, tzinfo=UTC)
    for n in range(count):
        conn.execute(
            "INSERT INTO jobs (hht_id, id, site, mpxn, supplier_eui, status, sort_at, digest, "
            "as_of, installer) VALUES (%s, %s, %s, %s, 'S1', %s, %s, '', 0, 'alex')",
            [
                "HHT-0000000000H1" if n % 2 else "HHT-0000000000H2",
                f"J{n:04d}",
                f"{n} Page Road",
                f"{1000000 + n}",
                "completed" if n % 3 else "failed",
                at.replace(minute=n % 7),  # many ties on time: the key breaks them
            ],
        )


def test_keyset_paging_walks_every_job_once_in_order(conn) -> None:
    _many_jobs(conn, 130)
    for filters, expected in ((history.Filters(), 130), (history.Filters(status="failed"), 44)):
        seen, cursor, pages = [], None, 0
        while True:
            rows, cursor = history.page(conn, filters, cursor, size=20)
            seen += [(r["sort_at"], r["hht_id"], r["id"]) for r in rows]
            pages += 1
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == expected
        assert seen == sorted(seen, reverse=True)
        assert pages == -(-expected // 20)
    with pytest.raises(history.FilterError):
        history.page(conn, history.Filters(), "not-a-cursor")


def _walk(conn, filters, size: int = 7) -> list[tuple]:  # type: ignore[no-untyped-def]
    seen, cursor = [], None
    while True:
        rows, cursor = history.page(conn, filters, cursor, size=size)
        seen += [(r["sort_at"], r["hht_id"], r["id"], r["site"]) for r in rows]
        if cursor is None:
            return seen


def test_a_site_prefix_finds_the_same_jobs_narrow_or_broad_and_the_hht_by_name(
    conn, monkeypatch
) -> None:
    _many_jobs(conn, 130)
    conn.execute("UPDATE jobs SET site = 'Flat ' || site")
    every = _walk(conn, history.Filters(), size=500)
    expected = [row for row in every if row[3].startswith("Flat 1")]
    assert 10 < len(expected) < 130
    narrow = _walk(conn, history.Filters(mpxn_or_site="flat 1"))  # through the site index
    monkeypatch.setattr(history, "NARROW_SITE_MATCHES", 5)
    broad = _walk(conn, history.Filters(mpxn_or_site="FLAT 1"))  # walked in page order
    assert narrow == broad == expected
    by_name = _walk(conn, history.Filters(hht="h1"))
    assert by_name == [row for row in every if row[1] == "HHT-0000000000H1"]
    assert _walk(conn, history.Filters(hht="no-such-van")) == []


def _login(client, who) -> None:  # type: ignore[no-untyped-def]
    client.get("/login")
    with client.session_transaction() as sess:
        token = sess.get("csrf", "")
    response = client.post(
        "/login", data={"username": who[0], "secret": who[1], "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def test_pages_need_a_login_and_forms_their_csrf_token(fleet_app, conn, supervisor) -> None:
    client = fleet_app.test_client()
    for page in ("/", "/devices", "/unloads", "/packs", "/jobs/HHT-X~J1"):
        response = client.get(page)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    wrong = client.post("/login", data={"username": supervisor[0], "secret": "nope"})
    assert wrong.status_code == 400  # no CSRF token: refused before the password is looked at
    _login(client, supervisor)
    page = client.get("/devices")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.post("/unloads", data={"supplier": DEMO_SUPPLIER_EUI}).status_code == 400
    assert client.get("/?date=yesterday").status_code == 400


def test_pages_show_the_fleet(make_hht, fleet_app, conn, supervisor) -> None:
    van = make_hht("van-v")
    sync(van)
    client = fleet_app.test_client()
    _login(client, supervisor)
    listing = client.get("/?hht=van-v").get_data(as_text=True)
    job_ids = [r["id"] for r in hht_rows(van, "SELECT id FROM jobs")]
    assert all(f'data-job="{j}"' in listing for j in job_ids)
    hht_id = terminal_identity(van).terminal_id
    finished = hht_rows(van, "SELECT id FROM jobs WHERE status = 'completed'")[0]["id"]
    job = client.get(f"/jobs/{hht_id}~{finished}").get_data(as_text=True)
    assert 'id="timeline"' in job and "data-command=" in job
    command = conn.execute(
        "SELECT id FROM commands WHERE hht_id = %s AND job_id = %s ORDER BY seq LIMIT 1",
        [hht_id, finished],
    ).fetchone()["id"]
    view = client.get(f"/messages/command/{hht_id}~{command}")
    text = view.get_data(as_text=True)
    assert view.status_code == 200 and 'id="hex"' in text
    # the HHT's own view and words: who sent it and to whom, by role and supplier name
    sender = text.split('data-party="from"><span class="party">')[1].split("<")[0]
    recipient = text.split('data-party="to"><span class="party">')[1].split("<")[0]
    assert sender.startswith("Supplier: ")
    assert recipient != "A device this job does not list"
    devices = client.get("/devices").get_data(as_text=True)
    assert f'data-hht="{hht_id}"' in devices and 'data-chain="ok"' in devices
