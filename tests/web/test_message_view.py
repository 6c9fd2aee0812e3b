"""The parsed view of commands and responses: tree, bytes, signature, withheld parts."""

from __future__ import annotations

import re

from tests.conftest import login
from tests.gbcs.vectors import TOP_UP, UTRN
from webapp.gbcs.gbz import build_gbz
from webapp.gbcs.header import Cra, GroupingHeader, OtherInfo
from webapp.gbcs.message import build_general_signing, wrap_general_ciphering
from webapp.web.context import station


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
    assert re.search(r'id="signature-state">valid<', page)
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
