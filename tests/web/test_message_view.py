"""The parsed view of commands and responses: tree, bytes, signature, withheld parts."""

from __future__ import annotations

import re

from tests.conftest import login
from tests.gbcs.vectors import TOP_UP, UTRN
from tests.web.conftest import run_job_to_end
from tests.web.page_text import main_text
from webapp.gbcs.gbz import build_gbz
from webapp.gbcs.header import Cra, GroupingHeader, OtherInfo
from webapp.gbcs.message import build_general_signing, wrap_general_ciphering
from webapp.jobs.states import device_name
from webapp.web.context import station
from webapp.web.views import eui as eui_text
from webapp.web.views import local_time


def _first_command(app, job_id: str) -> dict:  # type: ignore[no-untyped-def]
    with app.app_context():
        db = station().store.reader()
        return dict(
            db.execute_returning_dicts(
                "SELECT * FROM commands WHERE job_id = ? ORDER BY seq LIMIT 1", [job_id]
            )[0]
        )


def test_a_command_opens_as_a_tree_with_its_bytes(app, client, demo_jobs):
    login(client, "installer")
    command = _first_command(app, demo_jobs[0]["id"])
    page = client.get(f"/messages/command/{command['id']}").get_data(as_text=True)
    assert "CCS01" in page
    assert "Grouping Header" in page
    # the supplier signed it and the terminal trusts the demo supplier's certificate
    assert re.search(r'id="signature-state" data-state="valid">Valid<', page)
    assert "not verifiable here" in page  # the MAC
    cells = re.findall(r'<span data-i="\d+"[^>]*>([0-9A-F·]{2})</span>', page)
    assert "".join(cells) == command["raw"].hex().upper()
    offsets = [int(m) for m in re.findall(r'data-offset="(\d+)"', page)]
    assert offsets and max(offsets) < len(command["raw"])


def test_sensitive_content_is_withheld_in_the_view(app, client, demo_jobs):
    """A top-up code (UTRN) is money: the page shows neither its digits nor its bytes."""
    login(client, "installer")
    job = demo_jobs[0]
    device_set = job["device_set"]
    esme = bytes.fromhex(__import__("json").loads(device_set)["esme"])
    supplier = bytes.fromhex(job["supplier_eui"])
    header = GroupingHeader(Cra.COMMAND, 99, supplier, esme, None, OtherInfo(0x0097))
    raw = wrap_general_ciphering(
        build_general_signing(header, build_gbz([TOP_UP]), None), bytes(16), supplier
    )
    with app.app_context():
        with station().store.write() as db:
            db.execute(
                "UPDATE commands SET raw = ? WHERE id = (SELECT min(id) FROM commands "
                "WHERE job_id = ?)",
                [raw, job["id"]],
            )
        command = _first_command(app, job["id"])
    page = client.get(f"/messages/command/{command['id']}").get_data(as_text=True)
    assert 'id="withheld"' in page
    assert UTRN.decode() not in page
    assert UTRN.hex().upper() not in page.replace("</span><span", "")
    masked = re.findall(r'class="withheld">··<', page)
    assert len(masked) >= len(UTRN)


def test_messages_of_another_installers_job_are_not_shown(app, client, demo_jobs):
    login(client, "installer")
    other = next(j for j in demo_jobs if j["assignee_id"] != demo_jobs[0]["assignee_id"])
    command = _first_command(app, other["id"])
    assert client.get(f"/messages/command/{command['id']}").status_code == 404
    assert client.get("/messages/response/999999").status_code == 404


def test_supervisor_sees_any_message_and_anonymous_none(app, client, demo_jobs):
    command = _first_command(app, demo_jobs[-1]["id"])
    assert client.get(f"/messages/command/{command['id']}").status_code == 302
    login(client, "supervisor")
    assert client.get(f"/messages/command/{command['id']}").status_code == 200


# ------------------------------------------------------------------ for people, on a phone
def _party(page: str, which: str) -> str:
    found = re.search(rf'<dd data-party="{which}">(.*?)</dd>', page, re.S)
    assert found, which
    return main_text(found.group(1)) + " " + found.group(1)


def test_from_and_to_say_the_role_and_the_supplier_by_name(app, client, demo_jobs):
    job = demo_jobs[0]
    login(client, "installer")
    with app.app_context():
        db = station().store.reader()
        supplier = db["suppliers"].get(job["supplier_eui"])
        commands = list(db["commands"].rows_where("job_id = ?", [job["id"]], order_by="seq"))
    for command in commands:
        page = client.get(f"/messages/command/{command['id']}").get_data(as_text=True)
        sender, recipient = _party(page, "from"), _party(page, "to")
        assert f"Supplier: {supplier['name']}" in sender
        assert eui_text(command["originator"]) in sender.replace("-<wbr>", "-")
        assert main_text(recipient).startswith(device_name(command["device_role"]))
        assert eui_text(command["recipient"]) in recipient.replace("-<wbr>", "-")
        # the title says what the service request does; the codes are small print
        title = re.search(r"<h1>(.*?)</h1>", page).group(1)
        assert command["use_case"] not in title and f"Command {command['seq']}: " in title


def test_an_answer_reads_in_local_time_with_its_sender_and_a_way_back(app, client, demo_jobs):
    job = demo_jobs[0]
    run_job_to_end(app, job)
    with app.app_context():
        db = station().store.reader()
        answer = next(db["responses"].rows_where("job_id = ?", [job["id"]], order_by="id"))
        command = db["commands"].get(answer["command_id"])
    login(client, "installer")
    page = client.get(f"/messages/response/{answer['id']}").get_data(as_text=True)
    words = main_text(page)
    stamped = re.search(r'<dd id="message-time">([^<]+)</dd>', page).group(1)
    assert "T" not in stamped.replace("Time", "") and not re.search(r"\d\.\d{3}", stamped)
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d", stamped)
    assert f"Answer from the {device_name(command['device_role']).lower()}" in words
    assert main_text(_party(page, "from")).startswith(device_name(command["device_role"]))
    assert "Supplier: " in _party(page, "to")
    back = re.search(r'<a class="msg-back" id="back" href="([^"]+)"', page)
    assert back and back.group(1) == f"/i/jobs/{job['id']}/run"
    assert f'href="/messages/command/{command["id"]}"' in page
    # the command lists its answers in words and readable times
    asked = client.get(f"/messages/command/{command['id']}").get_data(as_text=True)
    answers = re.search(r'<section class="card" id="answers">(.*?)</section>', asked, re.S)
    assert answers and local_time(answer["received_at"]) in answers.group(1)
    assert answer["received_at"] not in asked


def test_codes_and_counters_are_behind_details(app, client, demo_jobs):
    login(client, "supervisor")
    command = _first_command(app, demo_jobs[0]["id"])
    page = client.get(f"/messages/command/{command['id']}").get_data(as_text=True)
    details = re.search(r'<details id="message-details".*?</details>', page, re.S).group(0)
    assert str(command["counter"]) in details
    words = main_text(page[: page.index("<h2>Contents</h2>")])
    assert str(command["counter"]) not in words
    for code in ("ESME", "GSME", "CHF", "IHD", command["use_case"]):
        assert not re.search(rf"\b{code}\b", words), code
    back = re.search(r'<a class="msg-back" id="back" href="([^"]+)"', page)
    assert back and back.group(1) == f"/s/jobs/{demo_jobs[0]['id']}"
