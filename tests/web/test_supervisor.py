"""Supervisor pages: history filters and paging, a job's timeline, user management."""

from __future__ import annotations

import re

from tests.conftest import login
from webapp.jobs.repo import HISTORY_PAGE_SIZE
from webapp.web.context import station


def _job_ids(page: str) -> list[str]:
    return re.findall(r'<tr data-job="([^"]+)"', page)


def test_history_filters(app, client, demo_jobs):
    login(client, "supervisor")
    everything = _job_ids(client.get("/s/").get_data(as_text=True))
    assert sorted(everything) == sorted(j["id"] for j in demo_jobs)
    job = demo_jobs[1]
    by_mpxn = _job_ids(client.get(f"/s/?q={job['mpxn'][:9]}").get_data(as_text=True))
    assert job["id"] in by_mpxn
    assert all(j["mpxn"].startswith(job["mpxn"][:9]) for j in demo_jobs if j["id"] in by_mpxn)
    assert _job_ids(client.get("/s/?q=Mill+Lane").get_data(as_text=True)) == [
        j["id"] for j in demo_jobs if "Mill Lane" in j["site"]
    ]
    assert _job_ids(client.get("/s/?status=completed").get_data(as_text=True)) == []
    assert _job_ids(client.get("/s/?from=2000-01-01&to=2000-01-02").get_data(as_text=True)) == []
    jo = [j for j in demo_jobs if j["assignee_id"] != demo_jobs[0]["assignee_id"]][0]
    shown = _job_ids(client.get(f"/s/?installer={jo['assignee_id']}").get_data(as_text=True))
    assert shown == [jo["id"]]
    # junk filters are ignored, not errors
    assert client.get("/s/?status=<script>&page=-3&installer=x").status_code == 200


def test_history_pages(app, client, demo_jobs):
    with app.app_context(), station().store.write() as db:
        template = dict(db.execute_returning_dicts("SELECT * FROM jobs LIMIT 1")[0])
        for n in range(HISTORY_PAGE_SIZE + 5):
            db["jobs"].insert({**template, "id": f"EXTRA-{n:03d}", "appointment": "2020-01-01"})
    login(client, "supervisor")
    first = client.get("/s/").get_data(as_text=True)
    assert len(_job_ids(first)) == HISTORY_PAGE_SIZE
    assert "Page 1 of 2" in first
    second = client.get("/s/?page=2").get_data(as_text=True)
    assert len(_job_ids(second)) == len(demo_jobs) + 5
    assert not set(_job_ids(first)) & set(_job_ids(second))


def test_user_management(app, client):
    token = login(client, "supervisor")
    add = {
        "action": "add",
        "username": "kim",
        "display_name": "Kim",
        "role": "installer",
        "secret": "123123",
        "csrf_token": token,
    }
    assert client.post("/s/users", data=add).status_code == 302
    page = client.get("/s/users").get_data(as_text=True)
    assert 'data-user="kim"' in page
    again = client.post("/s/users", data=add)
    assert again.status_code == 400 and "already exists" in again.get_data(as_text=True)
    weak = client.post("/s/users", data={**add, "username": "lee", "secret": "1"})
    assert "6 to 8 digits" in weak.get_data(as_text=True)
    client.post("/s/users", data={"action": "disable", "username": "kim", "csrf_token": token})
    other = app.test_client()
    other.get("/login")
    with other.session_transaction() as sess:
        tok = sess["csrf"]
    refused = other.post(
        "/login?role=installer",
        data={
            "username": "kim",
            "secret": "123123",
            "role": "installer",
            "csrf_token": tok,
        },
    )
    assert refused.status_code == 401
    client.post("/s/users", data={"action": "enable", "username": "kim", "csrf_token": token})
    client.post(
        "/s/users",
        data={"action": "reset", "username": "kim", "secret": "456456", "csrf_token": token},
    )
    ok = other.post(
        "/login?role=installer",
        data={
            "username": "kim",
            "secret": "456456",
            "role": "installer",
            "csrf_token": tok,
        },
    )
    assert ok.status_code == 302


def test_the_qr_code_of_the_address(app, client):
    assert client.get("/s/qr.svg").status_code == 302  # supervisors only
    login(client, "supervisor")
    page = client.get("/s/").get_data(as_text=True)
    assert re.search(r"Connect a phone: http://[0-9.]+(:\d+)?/", page)
    svg = client.get("/s/qr.svg")
    assert svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data and b"<path" in svg.data


def test_the_device_page_shows_radio_storage_and_time(app, client):
    assert client.get("/s/device").status_code == 302
    login(client, "supervisor")
    page = client.get("/s/device").get_data(as_text=True)
    assert "Simulated radio" in page and "(sim)" in page and "2.4GHz" in page
    assert re.search(r'id="free-space"[^>]*>\d+ MiB of \d+ MiB', page)
    assert "Time" in page and ("not known" in page or "within" in page)
