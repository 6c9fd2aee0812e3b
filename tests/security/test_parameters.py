"""Every number a request carries is checked by one helper: malformed is a 400 that says
what is wrong, never a 500 (issue 15, item 9: ``?page=²``, ``?installer=²``, huge page
numbers and unload ids gave ValueError or OverflowError)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from tests.conftest import REPO_ROOT, login
from webapp.web.params import MAX_JSON_BODY_DEPTH, MAX_SQL_INTEGER
from webapp.web.supervisor import MAX_HISTORY_PAGE

#: Text that is not a whole number in range, as it would arrive (already URL-decoded).
MALFORMED = [
    "²",  # str.isdigit() says yes, int() says no
    "١٢",  # Arabic-Indic digits: int() takes them, the helper does not
    "１２",  # full-width digits
    "-1",
    "-0",
    "+7",
    "1e3",
    "0x10",
    "1.5",
    "1_000",
    "NaN",
    " 7",
    "7\x00",
    "9" * 30,  # OverflowError in SQLite, and longer than any 64-bit number
    str(MAX_SQL_INTEGER + 1),
    "9" * 5000,  # past Python's int-from-text digit limit
    "\ufffd",  # what non-UTF-8 bytes decode to
]
NON_UTF8 = "%FF%FE"  # raw, in the URL itself


def _query(path: str, name: str) -> Callable[[FlaskClient, str, str], object]:
    def send(client: FlaskClient, raw: str, token: str) -> object:
        return client.get(f"{path}?{name}={raw}")

    return send


def _path(template: str) -> Callable[[FlaskClient, str, str], object]:
    def send(client: FlaskClient, raw: str, token: str) -> object:
        return client.get(template.format(raw))

    return send


def _unload_confirm(client: FlaskClient, raw: str, token: str) -> object:
    return client.post(
        "/s/unloads",
        data=f"csrf_token={token}&action=confirm&unload_id={raw}",
        content_type="application/x-www-form-urlencoded",
    )


#: Every place a view turns request text into an int: (what, the parameter's name, send).
NUMBERS = [
    ("history page", "page", _query("/s/", "page")),
    ("history installer", "installer", _query("/s/", "installer")),
    ("work pack loaded", "loaded", _query("/s/workpacks", "loaded")),
    ("unload confirmed", "unload_id", _unload_confirm),
    ("unload download", "unload id", _path("/s/unloads/{}.zip")),
    ("command view", "command id", _path("/messages/command/{}")),
    ("response view", "response id", _path("/messages/response/{}")),
]
#: Values the form field takes after its surrounding blanks are trimmed.
TRIMMED_FINE = {" 7"}


@pytest.fixture
def supervisor(client):  # type: ignore[no-untyped-def]
    return login(client, "supervisor")


@pytest.mark.parametrize(("what", "name", "send"), NUMBERS, ids=[n[0] for n in NUMBERS])
def test_every_malformed_number_is_a_400_naming_it(client, supervisor, what, name, send) -> None:
    values = [quote(v, safe="") for v in MALFORMED] + [NON_UTF8]
    for raw in values:
        if send is _unload_confirm and raw == quote(" 7", safe=""):
            continue  # a form field's blanks are trimmed: " 7" is 7
        response = send(client, raw, supervisor)
        body = response.get_data(as_text=True)
        assert response.status_code == 400, (what, raw, response.status_code, body[:300])
        assert f"{name} must be a whole number" in body, (what, raw, body[:300])


def test_numbers_in_range_still_work(client, supervisor, demo_jobs) -> None:
    assert client.get("/s/?page=1").status_code == 200
    assert client.get(f"/s/?page={MAX_HISTORY_PAGE}").status_code == 200  # an empty page
    assert client.get(f"/s/?page={MAX_HISTORY_PAGE + 1}").status_code == 400
    assert client.get("/s/?page=&installer=").status_code == 200  # empty: the defaults
    installer = demo_jobs[0]["assignee_id"]
    assert client.get(f"/s/?installer={installer}").status_code == 200
    assert client.get("/s/workpacks?loaded=1").status_code == 200
    assert client.get(f"/s/unloads/{MAX_SQL_INTEGER}.zip").status_code == 404
    assert client.get(f"/messages/command/{MAX_SQL_INTEGER}").status_code == 404
    assert client.get("/messages/command/0").status_code == 400
    refused = _unload_confirm(client, str(MAX_SQL_INTEGER), supervisor)
    assert refused.status_code == 400
    assert f"no unload {MAX_SQL_INTEGER}" in refused.get_data(as_text=True)


WEB = REPO_ROOT / "webapp" / "web"
#: What would turn request text into a number without the helper.
UNCHECKED = [
    re.compile(r"<(int|float)(\(.*?\))?:"),  # a path converter: huge values reach SQLite
    re.compile(r"\.isdigit\(\)"),  # true for "²", which int() refuses
    re.compile(r"\b(int|float)\(\s*request\."),
    re.compile(r"\b(int|float)\(\s*(loaded|value|text|given)\b"),
]


def test_no_view_turns_text_into_a_number_but_through_the_helper() -> None:
    found = []
    for path in sorted(WEB.glob("*.py")):
        if path.name == "params.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if any(p.search(line) for p in UNCHECKED):
                found.append(f"{Path(path).name}:{n}: {line.strip()}")
    assert found == [], "use webapp.web.params for these"


#: The API routes that read a JSON body.
JSON_ROUTES = ["abort", "connect", "hub-label"]
DEEP = 100_000


@pytest.mark.parametrize("route", JSON_ROUTES)
def test_a_json_body_nested_far_too_deep_is_a_400_naming_the_cap(
    client, installer, demo_jobs, route
) -> None:
    job = next(j for j in demo_jobs if j["site"].startswith("21"))  # alex's, as logged in
    for body in ("[" * DEEP + "]" * DEEP, '{"a":' * DEEP):
        response = client.post(
            f"/api/jobs/{job['id']}/{route}",
            data=body,
            content_type="application/json",
            headers={"X-CSRF-Token": installer},
        )
        assert response.status_code == 400, (route, response.get_data(as_text=True)[:300])
        error = response.get_json()["error"]
        assert f"(the limit is {MAX_JSON_BODY_DEPTH})" in error
