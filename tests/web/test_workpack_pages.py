"""The work-pack pages: suppliers, upload (good and refused), unload and receipt, the
installer's site survey, hub installation record and pack upload from the phone."""

from __future__ import annotations

import io
import json
import zipfile

from tests.conftest import closed_out, login
from tests.web.page_text import empty_headers, labels, unlabelled_cells
from tests.workpack.conftest import job_spec, pack_spec, unpack
from webapp.sim.packs import build_pack
from webapp.web.views import eui_html
from webapp.workpack.archive import write_archive
from webapp.workpack.survey import verify_survey


def _upload(client, token: str, url: str, data: bytes, field: str = "pack", **form):  # type: ignore[no-untyped-def]
    return client.post(
        url,
        data={"csrf_token": token, field: (io.BytesIO(data), "pack.zip"), **form},
        content_type="multipart/form-data",
    )


def test_supervisor_loads_a_pack_and_sees_its_jobs(client, demo_dir) -> None:
    token = login(client, "supervisor")
    built = build_pack(pack_spec(job_spec("WEB1", "1 Web Road")), demo_dir)
    response = _upload(client, token, "/s/workpacks", built.data())
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-job="WEB1"' in page and "Loaded work pack" in page


def test_a_tampered_pack_is_refused_with_reasons(client, demo_dir) -> None:
    token = login(client, "supervisor")
    members, manifest = unpack(
        build_pack(pack_spec(job_spec("WEB2", "2 Web Road")), demo_dir).data()
    )
    name = manifest["jobs"][0]["device_sets"][0]["commands"][0][0]
    members[name] = members[name].replace(b"I0", b"I0 ", 1)
    response = _upload(client, token, "/s/workpacks", write_archive(members))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Work pack refused: nothing was loaded." in page and "(altered)" in page
    assert 'data-job="WEB2"' not in client.get("/s/").get_data(as_text=True)


def test_supplier_certificates(client, demo_dir) -> None:
    from cryptography.hazmat.primitives import serialization

    from webapp.sim.pki import TestPki

    token = login(client, "supervisor")
    cert = TestPki.load_or_create(demo_dir / "pki").issue("90B3D51F30BB0003", "ds").certificate
    pem = cert.public_bytes(serialization.Encoding.PEM)
    ok = client.post(
        "/s/suppliers",
        data={"csrf_token": token, "name": "Bee Energy", "certificate": (io.BytesIO(pem), "b.pem")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    assert 'data-supplier="90B3D51F30BB0003"' in client.get("/s/suppliers").get_data(as_text=True)
    bad = client.post(
        "/s/suppliers",
        data={"csrf_token": token, "name": "X", "certificate": (io.BytesIO(b"junk"), "x.pem")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and "not a PEM X.509 certificate" in bad.get_data(as_text=True)
    wrong = client.post(
        "/s/suppliers",
        data={
            "csrf_token": token,
            "name": "X",
            "eui": "90B3D51F30BB0004",
            "certificate": (io.BytesIO(pem), "b.pem"),
        },
        content_type="multipart/form-data",
    )
    assert "the certificate names 90B3D51F30BB0003, not 90B3D51F30BB0004" in wrong.get_data(
        as_text=True
    )


def test_unload_download_and_confirm(app, client, demo_dir) -> None:

    from webapp.web.context import station

    job_id = "J" + __import__("datetime").date.today().strftime("%y%m%d") + "-02"
    with app.app_context():
        st = station()
        loop = app.extensions["hht"].loop

        async def run() -> None:
            job = st.store.reader()["jobs"].get(job_id)
            await st.runner.connect(job_id, job["expected_hub_id"])
            await st.runner.start(job_id)
            await st.runner.wait(job_id)

        loop.call(run())
        with st.store.write() as db:  # the installer's close-out
            db["jobs"].update(job_id, {"hub_install": closed_out()})
    token = login(client, "supervisor")
    home = client.get("/s/").get_data(as_text=True)
    assert 'id="waiting"' in home and "6</td>" in home  # six answers waiting
    # one tap: the answer to "Make unload" is the unload's file
    made = client.post("/s/unloads", data={"csrf_token": token, "supplier": "90B3D51F30DE0001"})
    assert made.status_code == 200 and made.mimetype == "application/zip"
    assert made.headers["Content-Disposition"].startswith("attachment; filename=")
    assert made.headers["Cache-Control"] == "no-store"
    page = client.get("/s/unloads").get_data(as_text=True)
    assert 'data-unload="1"' in page and "Confirm received" in page
    assert "Unload 1 made and downloaded" in page  # said on the next page
    download = client.get("/s/unloads/1.zip")
    assert download.status_code == 200 and download.data == made.data
    assert download.headers["Content-Disposition"] == made.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(made.data)) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert len(manifest["responses"]) == 6 and manifest["hub_statuses"][0]["job_id"] == job_id
    client.post("/s/unloads", data={"csrf_token": token, "action": "confirm", "unload_id": "1"})
    assert 'id="waiting"' not in client.get("/s/").get_data(as_text=True)
    assert client.get("/s/unloads/99.zip").status_code == 404


def test_installer_survey_is_signed_and_checked(client, demo_jobs) -> None:
    token = login(client, "installer")
    job = demo_jobs[0]
    bad = client.post(f"/i/jobs/{job['id']}/survey", data={"csrf_token": token, "esme": "xyz"})
    assert bad.status_code == 400 and "16 digits" in bad.get_data(as_text=True)
    good = client.post(
        f"/i/jobs/{job['id']}/survey",
        data={"csrf_token": token, "hub": "00-DB-12-34-56-78-90-A2", "esme": "70B3D5FF00000001"},
    )
    assert good.status_code == 200 and "attachment" in good.headers["Content-Disposition"]
    survey = verify_survey(good.data)
    assert survey["mpxn"] == job["mpxn"] and survey["hub_found"] == "00DB1234567890A2"
    assert survey["meters_found"] == {"esme": "70B3D5FF00000001"} and survey["installer"] == "alex"
    doc = json.loads(good.data)
    doc["survey"]["mpxn"] = "999"
    import pytest

    from webapp.workpack.errors import WorkPackError

    with pytest.raises(WorkPackError, match="does not verify"):
        verify_survey(json.dumps(doc).encode())


def test_installer_loads_the_answer_to_a_survey(client, demo_dir) -> None:
    token = login(client, "installer")
    spec = pack_spec(job_spec("SURV1", "1 Survey Road", assignee=None))
    response = _upload(client, token, "/i/workpack", build_pack(spec, demo_dir).data())
    assert response.status_code == 302
    assert 'data-job="SURV1"' in client.get("/i/").get_data(as_text=True)
    refused = _upload(client, token, "/i/workpack", b"not a zip")
    assert refused.status_code == 400 and "is not a zip file" in refused.get_data(as_text=True)


def _finish(client, app, job_id: str) -> None:  # type: ignore[no-untyped-def]
    """Mark the job finished at its expected hub, as after its last command."""
    from webapp.web.context import station

    with app.app_context(), station().store.write() as db:
        hub = db["jobs"].get(job_id)["expected_hub_id"]
        db["jobs"].update(
            job_id,
            {"status": "completed", "connected_hub_id": hub, "finished_at": "2026-12-05T10:00:00"},
        )


def test_close_out_records_what_the_installer_saw(app, client, demo_jobs) -> None:
    from webapp.web.context import station

    job = demo_jobs[1]
    token = login(client, "installer")
    assert client.get(f"/i/jobs/{job['id']}/finish").status_code == 302  # not finished yet
    _finish(client, app, job["id"])
    page = client.get(f"/i/jobs/{job['id']}").get_data(as_text=True)
    assert 'id="go-finish"' in page  # the job page's one action is the close-out
    form = client.get(f"/i/jobs/{job['id']}/finish").get_data(as_text=True)
    assert 'id="hub-install"' in form and " checked" not in form  # nothing pre-answered
    url = f"/i/jobs/{job['id']}/finish"
    nothing = client.post(url, data={"csrf_token": token})
    assert nothing.status_code == 400 and "whether the hub is installed" in nothing.text
    missing = client.post(
        url,
        data={"csrf_token": token, "installed": "yes", "chf_location": "Deep indoors"},
    )
    assert missing.status_code == 400
    assert "external aerial" in missing.text and "smart-meter network" in missing.text
    no_signal = {
        "csrf_token": token,
        "installed": "yes",
        "chf_location": "Deep indoors",
        "aerial_install": "yes",
        "sm_wan": "no",
    }
    no_premises = client.post(url, data=no_signal)
    assert no_premises.status_code == 400 and "type of premises" in no_premises.text
    with app.app_context():
        refused = station().store.reader()["jobs"].get(job["id"])["hub_install"]
    assert refused is None or "recorded_at" not in refused  # nothing recorded
    done = client.post(
        url, data={**no_signal, "premise_type": "Terraced", "metal_obstruction": "yes"}
    )
    assert done.status_code == 302 and done.location.endswith(f"/i/jobs/{job['id']}/summary")
    with app.app_context():
        record = json.loads(station().store.reader()["jobs"].get(job["id"])["hub_install"])
    assert record["installed"] is True and record["sm_wan"] is False
    assert record["premise_type"] == "Terraced" and record["aerial_install"] is True
    assert record["metal_obstruction"] is True and record["recorded_by"] == "alex"
    summary = client.get(done.location).get_data(as_text=True)
    assert "Hub installed: Deep indoors, no network signal, external aerial fitted" in summary
    assert 'id="next-job"' in summary


def test_not_installed_needs_a_reason(app, client, demo_jobs) -> None:
    from webapp.web.context import station

    job = demo_jobs[2]
    token = login(client, "installer")
    _finish(client, app, job["id"])
    url = f"/i/jobs/{job['id']}/finish"
    bare = client.post(url, data={"csrf_token": token, "installed": "no"})
    assert bare.status_code == 400 and "why the hub was not installed" in bare.text
    other = client.post(url, data={"csrf_token": token, "installed": "no", "reason": "other"})
    assert other.status_code == 400 and "note" in other.text
    ok = client.post(url, data={"csrf_token": token, "installed": "no", "reason": "refused"})
    assert ok.status_code == 302
    with app.app_context():
        record = json.loads(station().store.reader()["jobs"].get(job["id"])["hub_install"])
    assert record["installed"] is False and record["reason"] == "refused"
    assert "Hub not installed: Customer refused" in client.get(ok.location).text


def _station_of(app):  # type: ignore[no-untyped-def]
    from webapp.web.context import loop, station

    with app.app_context():
        return station(), loop()


def _run_and_read_signatures(app, job_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Run ``job_id`` to its end on the app's station; the signature state of each answer."""
    st, radio_loop = _station_of(app)

    async def run() -> None:
        job = st.store.reader()["jobs"].get(job_id)
        st.han.power_cycle(job["expected_hub_id"])
        await st.runner.connect(job_id, job["expected_hub_id"])
        await st.runner.start(job_id)
        await st.runner.wait(job_id)

    radio_loop.call(run())
    db = st.store.reader()
    assert db["jobs"].get(job_id)["status"] == "completed"
    return [r["signature"] for r in db["responses"].rows_where("job_id = ?", [job_id])]


def test_a_pack_loaded_from_the_phone_brings_trusted_device_certificates(request, demo_dir) -> None:
    """The device certificates of a phone-loaded pack verify its job's answers at once."""
    spec = pack_spec(job_spec("PHONE1", "1 Phone Road", assignee=None))
    data = build_pack(spec, demo_dir).data()  # a new simulated home, unknown to the terminal
    app = request.getfixturevalue("app")
    client = request.getfixturevalue("client")
    token = login(client, "installer")
    assert _upload(client, token, "/i/workpack", data).status_code == 302

    signatures = _run_and_read_signatures(app, "PHONE1")
    assert "signer-unknown" not in signatures
    assert "valid" in signatures


def test_a_pack_loaded_by_the_command_beside_a_running_server_is_trusted_at_once(
    request, demo_dir, tmp_path
) -> None:
    """``hht workpack load`` is another process: the running station still sees the
    device certificates it brought the next time it checks an answer."""
    from click.testing import CliRunner

    from webapp.cli import main

    spec = pack_spec(job_spec("CLI1", "2 Command Road", assignee=None))
    pack = tmp_path / "cli.zip"
    pack.write_bytes(build_pack(spec, demo_dir).data())
    app = request.getfixturevalue("app")
    st, _ = _station_of(app)
    trusted_before = len(st.runner.certificates)  # the server has looked already
    loaded = CliRunner().invoke(
        main, ["workpack", "load", str(pack), "--data-dir", str(demo_dir)], catch_exceptions=False
    )
    assert loaded.exit_code == 0, loaded.output
    assert len(st.runner.certificates) > trusted_before

    signatures = _run_and_read_signatures(app, "CLI1")
    assert "signer-unknown" not in signatures
    assert "valid" in signatures


def test_a_refused_unload_is_a_page_not_a_file(client, demo_jobs) -> None:
    token = login(client, "supervisor")
    refused = client.post("/s/unloads", data={"csrf_token": token, "supplier": "not an eui"})
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert "Not done." in refused.get_data(as_text=True)


def test_work_pack_pages_label_every_cell_for_the_phone_cards(client, demo_dir) -> None:
    token = login(client, "supervisor")
    built = build_pack(pack_spec(job_spec("WEB9", "9 Web Road")), demo_dir)
    loaded = _upload(client, token, "/s/workpacks", built.data()).headers["Location"]
    for path in (loaded, "/s/workpacks", "/s/suppliers", "/s/unloads"):
        page = client.get(path).get_data(as_text=True)
        assert "<td" in page, path
        assert unlabelled_cells(page) == [], path
        assert empty_headers(page) == 0, path
        assert labels(page), path
    # device ids break only between byte pairs, on every table
    for path in ("/s/suppliers", "/s/unloads"):
        assert eui_html("90B3D51F30DE0001") in client.get(path).get_data(as_text=True), path
