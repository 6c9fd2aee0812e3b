"""Supervisor pages: history filters and paging, a job's timeline and radio capture, user
management; each table labelled for a phone, states, devices and requests in words."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from markupsafe import escape

from tests.conftest import csrf_of, login
from tests.web.conftest import run_job_to_end
from tests.web.page_text import empty_headers, labels, main_text, unlabelled_cells
from webapp.jobs.repo import HISTORY_PAGE_SIZE
from webapp.jobs.states import ABORT_REASONS, command_label, device_name
from webapp.store.events import append_event
from webapp.web.context import loop, station
from webapp.web.supervisor import CAPTURE_MIMETYPE, SELF_DISABLE_REFUSED, _download_name
from webapp.web.views import eui_html, local_time
from webapp.zigbee.capture import read_capture
from webapp.zigbee.frames.mac import MacCommand, MacCommandId


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
    jos = [j["id"] for j in demo_jobs if j["assignee_id"] == jo["assignee_id"]]
    assert sorted(shown) == sorted(jos) and len(jos) < len(demo_jobs)
    # a junk status is ignored; a number that is not one is a 400 (tests/security/test_parameters)
    assert client.get("/s/?status=<script>").status_code == 200
    assert client.get("/s/?page=-3").status_code == 400
    assert client.get("/s/?installer=x").status_code == 400


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
    # the page lists the changes, newest first, with the supervisor who made them
    from webapp.sim.demo import DEMO_SUPERVISOR

    page = client.get("/s/users").get_data(as_text=True)
    changes = page[page.index('id="user-changes"') :]
    said = [
        "User kim: PIN reset",
        "User kim enabled",
        "User kim disabled",
        "User kim added (installer)",
    ]
    places = [changes.index(words) for words in said]
    assert places == sorted(places)
    assert changes.count(f'<td data-label="By">{DEMO_SUPERVISOR[0]}</td>') >= 4
    assert "456456" not in page and "123123" not in page


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


# ------------------------------------------------------------------ a job's radio capture
CAPTURE_LINK = re.compile(
    r'id="capture-download" href="([^"]+)"[^>]*>Radio capture \(Wireshark\) · '
    r"(\d+) connections? · ([\d.]+ (?:Bytes|KiB|MiB))</a>"
)


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary directory the app uses, one the test can look into."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _files_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


@pytest.fixture
def merged_into(app, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Where each download merged its capture (the station's JobCaptures.merge, spied on)."""
    with app.app_context():
        captures = station().runner.captures
    merge = captures.merge
    seen: list[Path] = []

    def spy(job_id: str, out: Path, *, since: int = 0) -> int:
        seen.append(out)
        return merge(job_id, out, since=since)

    monkeypatch.setattr(captures, "merge", spy)
    return seen


def test_a_supervisor_downloads_the_radio_capture_of_a_job(
    app, client, demo_jobs, tmp_path, temp_dir, merged_into
):
    job = demo_jobs[0]
    run_job_to_end(app, job)
    captures_dir = Path(app.config["DATA_DIR"]) / "captures"
    parts_before = _files_under(captures_dir)
    assert parts_before, "the simulator's connection was recorded"
    url = f"/s/jobs/{job['id']}/capture.pcapng"

    # anonymous users log in first; installers (even the job's own) are refused
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    installer = app.test_client()
    login(installer, "installer")
    assert installer.get(url).status_code == 403

    login(client, "supervisor")
    page = client.get(f"/s/jobs/{job['id']}").get_data(as_text=True)
    link = CAPTURE_LINK.search(page)
    assert link, "the job page offers the capture"
    assert link.group(1) == url
    with app.app_context():
        parts = station().runner.captures.parts(job["id"])
    assert int(link.group(2)) == len(parts)
    assert "opens this file in Wireshark" in page and "holds no keys" in page

    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == CAPTURE_MIMETYPE
    assert response.headers["Content-Disposition"] == f"attachment; filename={job['id']}.pcapng"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.content_length == len(response.data)
    downloaded = tmp_path / "downloaded.pcapng"
    downloaded.write_bytes(response.data)
    frames = read_capture(downloaded)
    assert len(frames) == sum(len(read_capture(part)) for part in parts) > 0
    assert all(frame.fcs_ok for frame in frames)
    first = MacCommand.from_bytes(frames[0].frame)  # connecting starts with a scan
    assert first.command_id == MacCommandId.BEACON_REQUEST and frames[0].direction == "out"

    # merged in a temporary directory, gone afterwards; the captures folder untouched
    [merged] = merged_into
    assert merged.is_relative_to(temp_dir) and not merged.exists()
    assert _files_under(temp_dir) == []
    assert _files_under(captures_dir) == parts_before


def test_a_job_id_unfit_for_a_file_name_never_names_a_file(app, client, demo_jobs, temp_dir):
    """Job ids come from work packs: one with a colon is captured under a hashed folder,
    and its download is named with the colon made safe."""
    job_id = "SUP:J1"
    with app.app_context():
        st, radio_loop = station(), loop()
    with st.store.write() as db:
        db["jobs"].insert({**dict(db["jobs"].get(demo_jobs[0]["id"])), "id": job_id})

    async def one_connection() -> None:
        st.runner.captures.begin(st.driver, job_id, "test connection")
        st.runner.captures.end(st.driver)

    radio_loop.call(one_connection())
    captures_dir = Path(app.config["DATA_DIR"]) / "captures"
    [folder] = [p for p in captures_dir.iterdir() if ":" in p.name or p.name.startswith("job-")]
    assert folder.name.startswith("job-")

    login(client, "supervisor")
    page = client.get(f"/s/jobs/{job_id}").get_data(as_text=True)
    assert CAPTURE_LINK.search(page).group(2) == "1"
    response = client.get(f"/s/jobs/{job_id}/capture.pcapng")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=SUP_J1.pcapng"
    assert response.data.startswith(b"\x0a\x0d\x0d\x0a")  # a pcapng section header
    assert _files_under(temp_dir) == []


def test_a_job_without_a_capture_has_no_link_and_no_download(app, client, demo_jobs, temp_dir):
    job = demo_jobs[1]  # never connected
    login(client, "supervisor")
    page = client.get(f"/s/jobs/{job['id']}")
    assert page.status_code == 200
    assert "capture-download" not in page.get_data(as_text=True)
    assert "Radio capture" not in page.get_data(as_text=True)
    response = client.get(f"/s/jobs/{job['id']}/capture.pcapng")
    assert response.status_code == 404
    assert "has no radio capture" in response.get_data(as_text=True)
    assert _files_under(temp_dir) == []


@pytest.mark.parametrize("job_id", ["NOPE", "..", "a%00b", "J%3A1%20%3Cx%3E", "..%2Fhht.sqlite"])
def test_the_capture_of_an_unknown_job_is_not_found(client, job_id, temp_dir):
    login(client, "supervisor")
    response = client.get(f"/s/jobs/{job_id}/capture.pcapng")
    assert response.status_code == 404
    if "%2F" not in job_id:  # a slash never reaches the view: no route has one there
        assert "no such job" in response.get_data(as_text=True)
    assert _files_under(temp_dir) == []


def test_the_download_name_of_an_unsafe_job_id_is_made_safe():
    assert _download_name("J261205-01") == "J261205-01.pcapng"
    assert _download_name('SUP:1/..\r\n"x"') == "SUP_1_..___x_.pcapng"


# ------------------------------------------------------------------ on a phone, in words
def _set_states(app, job_id: str, job_status: str, states: list[str]) -> list[dict]:  # type: ignore[no-untyped-def]
    """Give the job's first commands ``states`` and the job ``job_status``; its commands."""
    with app.app_context(), station().store.write() as db:
        db["jobs"].update(job_id, {"status": job_status})
        commands = list(db["commands"].rows_where("job_id = ?", [job_id], order_by="seq"))
        for command, state in zip(commands, states, strict=False):
            db["commands"].update(command["id"], {"state": state})
        return list(db["commands"].rows_where("job_id = ?", [job_id], order_by="seq"))


def _badges(row: str) -> list[str]:
    return re.findall(r'<span class="badge [^"]*">([^<]+)</span>', row)


def _rows(page: str, attribute: str) -> dict[str, str]:
    """Each table row's HTML by its ``data-<attribute>``."""
    return dict(re.findall(rf'<tr data-{attribute}="([^"]+)"[^>]*>(.*?)</tr>', page, re.S))


SUPERVISOR_TABLE_PAGES = ["/s/", "/s/jobs/{job}", "/s/users", "/s/no-wan", "/s/device"]


@pytest.mark.parametrize("path", SUPERVISOR_TABLE_PAGES)
def test_every_table_cell_is_labelled_for_the_phone_cards(app, client, demo_jobs, path):
    """On a phone each row is a card: each value says what it is, and no header is empty."""
    job = demo_jobs[0]
    _set_states(app, job["id"], "running", ["answered", "delivered"])
    with app.app_context(), station().store.write() as db:
        db["no_wan_register"].insert(
            {"mpxn": job["mpxn"], "site": job["site"], "reported_at": "2026-12-01", "source": "hht"}
        )
    stranger = app.test_client()  # a failed login, for the device page's table of them
    stranger.get("/login?role=supervisor")
    wrong = {"username": "nobody", "secret": "not-the-password", "role": "supervisor"}
    stranger.post("/login?role=supervisor", data={**wrong, "csrf_token": csrf_of(stranger)})
    login(client, "supervisor")
    page = client.get(path.format(job=job["id"])).get_data(as_text=True)
    assert "<td" in page
    if path == "/s/device":
        assert 'id="failures"' in page and 'id="sessions"' in page
    assert unlabelled_cells(page) == []
    assert empty_headers(page) == 0
    assert labels(page), "the cells carry their column's name"


def test_a_job_page_says_states_devices_and_requests_in_words(app, client, demo_jobs):
    job = demo_jobs[0]
    commands = _set_states(app, job["id"], "paused", ["answered", "delivered", "rejected"])
    login(client, "supervisor")
    page = client.get(f"/s/jobs/{job['id']}").get_data(as_text=True)
    rows = _rows(page, "command")
    for command in commands:
        row = rows[str(command["id"])]
        assert _badges(row) == [command_label(command["state"], "paused")]
        assert device_name(command["device_role"]) in main_text(row)
    # the request's title is its heading; its use-case code is small print beside it
    with app.app_context():
        requests = (
            station()
            .store.reader()["service_requests"]
            .rows_where("job_id = ?", [job["id"]], order_by="seq")
        )
        for request in requests:
            assert f"{request['seq']}. {escape(request['title'])}</span>" in page
    words = main_text(page)
    for internal in ("answered", "delivered", "queued", "ESME", "GSME", "CHF", "IHD"):
        assert not re.search(rf"\b{internal}\b", words.replace(job["id"], "")), internal
    # a paused job's request under way is paused, as the installer sees it
    first = re.search(r'data-service-request="\d+" data-state="([^"]+)"', page)
    assert first and first.group(1) == "done"
    assert "Paused: sent, answer not yet received" in words
    # counters only behind "Details"
    assert str(commands[0]["counter"]) in page
    assert str(commands[0]["counter"]) not in words


def test_the_timeline_and_facts_use_readable_times_and_say_the_site_once(app, client, demo_jobs):
    job = demo_jobs[0]
    with app.app_context(), station().store.write() as db:
        db["jobs"].update(
            job["id"],
            {
                "status": "aborted",
                "abort_reason": "no-wan",
                "started_at": "2026-12-05T09:01:27.123456+00:00",
            },
        )
    login(client, "supervisor")
    page = client.get(f"/s/jobs/{job['id']}").get_data(as_text=True)
    words = main_text(page)
    assert ABORT_REASONS["no-wan"] in words and "no-wan" not in words
    assert "09:01:27.123456" not in page and "T09:01" not in page
    assert local_time("2026-12-05T09:01:27.123456+00:00") in words
    assert f"Site {job['site']}, " in words and words.count(job["site"]) == 1
    history = _rows(client.get("/s/").get_data(as_text=True), "job")
    for shown in demo_jobs:
        assert main_text(history[shown["id"]]).count(shown["site"]) == 1


def _insert_jobs(app, count: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), station().store.write() as db:
        template = dict(db.execute_returning_dicts("SELECT * FROM jobs LIMIT 1")[0])
        for n in range(count):
            db["jobs"].insert({**template, "id": f"EXTRA-{n:03d}", "appointment": "2020-01-01"})


def _pager_links(page: str) -> list[str]:
    pager = re.search(r'<nav class="pager".*?</nav>', page, re.S)
    return re.findall(r">(Newer|Older)</a>", pager.group(0)) if pager else []


def test_history_paging_never_goes_past_the_end(app, client, demo_jobs):
    login(client, "supervisor")
    only = client.get("/s/").get_data(as_text=True)
    past = client.get("/s/?page=2")
    assert past.status_code == 200
    text = past.get_data(as_text=True)
    assert "Page 2 of 1" not in text and _pager_links(text) == []
    assert _job_ids(text) == _job_ids(only) != []

    _insert_jobs(app, HISTORY_PAGE_SIZE)
    first = client.get("/s/").get_data(as_text=True)
    assert "Page 1 of 2" in first and _pager_links(first) == ["Older"]
    last = client.get("/s/?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in last and _pager_links(last) == ["Newer"]
    beyond = client.get("/s/?page=7&q=EXTRA").get_data(as_text=True)  # one page of EXTRA jobs
    assert "Page 7" not in beyond and _pager_links(beyond) == []
    assert len(_job_ids(beyond)) == HISTORY_PAGE_SIZE
    assert all(job_id.startswith("EXTRA-") for job_id in _job_ids(beyond))


def test_a_supervisor_cannot_disable_his_own_account(app, client):
    token = login(client, "supervisor")
    page = client.get("/s/users").get_data(as_text=True)
    rows = _rows(page, "user")
    assert 'value="disable"' not in rows["sam"] and "cannot disable your own account" in rows["sam"]
    assert 'value="disable"' in rows["alex"]

    for spelt in ("sam", " SAM "):  # names are found whatever their case
        refused = client.post(
            "/s/users", data={"action": "disable", "username": spelt, "csrf_token": token}
        )
        assert refused.status_code == 400
        assert escape(SELF_DISABLE_REFUSED) in refused.get_data(as_text=True)
    with app.app_context():
        assert (
            not station()
            .store.reader()["users"]
            .rows_where("username = 'sam'")
            .__next__()["disabled"]
        )
    assert client.get("/s/users").status_code == 200  # still logged in
    # another user still can be disabled
    other = client.post(
        "/s/users", data={"action": "disable", "username": "alex", "csrf_token": token}
    )
    assert other.status_code == 302


def test_the_timeline_writes_device_ids_as_on_the_label(app, client, demo_jobs):
    job = demo_jobs[0]
    counter = "1796484517717359"  # sixteen digits, but a counter: left as it is
    with app.app_context(), station().store.write() as db:
        append_event(
            db, job["id"], "note", f"Connecting to hub {job['expected_hub_id']} <b>{counter}</b>"
        )
    login(client, "supervisor")
    page = client.get(f"/s/jobs/{job['id']}").get_data(as_text=True)
    timeline = re.search(r'<ol class="plain timeline card" id="timeline".*?</ol>', page, re.S)
    assert timeline
    assert str(eui_html(job["expected_hub_id"])) in timeline.group(0)
    assert job["expected_hub_id"] not in timeline.group(0)
    assert f"&lt;b&gt;{counter}&lt;/b&gt;" in timeline.group(0)  # escaped, the counter untouched
