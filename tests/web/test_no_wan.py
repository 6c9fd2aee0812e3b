"""Seed 4.1: the no-WAN register: aborts add sites, export, import, warnings before visits."""

from __future__ import annotations

import io

from tests.conftest import login
from webapp.web.context import station


def _abort_no_wan(app, job_id: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), station().store.write() as db:
        db["jobs"].update(
            job_id,
            {
                "status": "aborted",
                "abort_reason": "no-wan",
                "abort_note": "no signal upstairs",
                "finished_at": "2026-11-20T10:00:00+00:00",
            },
        )


def test_an_abort_for_no_wan_lists_the_site_and_warns_the_next_visit(app, client, demo_jobs):
    job = demo_jobs[0]
    _abort_no_wan(app, job["id"])
    login(client, "supervisor")
    page = client.get("/s/no-wan").get_data(as_text=True)
    assert f'data-mpxn="{job["mpxn"]}"' in page and "no signal upstairs" in page
    exported = client.get("/s/no-wan?format=csv")
    assert exported.mimetype == "text/csv"
    assert exported.get_data(as_text=True).splitlines()[0] == "mpxn,site,reported_at,note"
    assert job["mpxn"] in exported.get_data(as_text=True)


def test_importing_the_central_register_warns_installers(app, client, demo_jobs):
    token = login(client, "supervisor")
    target = demo_jobs[1]
    csv = f"mpxn,site,reported_at,note\n{target['mpxn']},{target['site']},2026-10-01,mast down\n"
    response = client.post(
        "/s/no-wan",
        data={"register": (io.BytesIO(csv.encode()), "central.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    installer = app.test_client()
    login(installer, "installer")
    page = installer.get(f"/i/jobs/{target['id']}").get_data(as_text=True)
    assert 'id="no-wan-warning"' in page and "mast down" in page
    other = installer.get(f"/i/jobs/{demo_jobs[2]['id']}").get_data(as_text=True)
    assert 'id="no-wan-warning"' not in other


def test_a_bad_register_is_refused_whole(app, client, demo_jobs):
    token = login(client, "supervisor")
    csv = f"mpxn,site\n{demo_jobs[1]['mpxn']},ok\nNOT-A-MPXN,bad\n"
    response = client.post(
        "/s/no-wan",
        data={"register": (io.BytesIO(csv.encode()), "central.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "line 3: MPxN &#39;NOT-A-MPXN&#39; is not 6 to 13 digits" in response.get_data(
        as_text=True
    )
    with app.app_context():
        assert station().store.reader()["no_wan_register"].count == 0
    no_header = client.post(
        "/s/no-wan",
        data={"register": (io.BytesIO(b"\xff\xfe junk"), "x.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert no_header.status_code == 400
