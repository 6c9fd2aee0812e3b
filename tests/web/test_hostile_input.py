"""Junk into every form and JSON endpoint: a clear error, and the data unchanged."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import login
from tests.web.conftest import SETTINGS, dump, json_values
from webapp.web.context import station


def _bad_hub_id(value: object) -> bool:
    return not (isinstance(value, str) and len(value.replace("-", "")) == 16)


@SETTINGS
@given(body=json_values)
def test_connect_with_junk_is_refused_and_changes_nothing(app, client, demo_jobs, body):
    token = login(client, "installer")
    job = demo_jobs[0]["id"]
    before = dump(app)
    hub_id = body.get("hub_id") if isinstance(body, dict) else None
    response = client.post(f"/api/jobs/{job}/connect", json=body, headers={"X-CSRF-Token": token})
    if _bad_hub_id(hub_id):
        assert response.status_code == 400
        assert response.get_json()["error"]
        assert dump(app) == before


@SETTINGS
@given(body=json_values)
def test_abort_with_junk_is_refused_and_changes_nothing(app, client, demo_jobs, body):
    token = login(client, "installer")
    job = demo_jobs[0]["id"]
    before = dump(app)
    response = client.post(f"/api/jobs/{job}/abort", json=body, headers={"X-CSRF-Token": token})
    reason = body.get("reason") if isinstance(body, dict) else None
    if reason not in {"no-wan", "no-access", "unsafe", "refused", "other"}:
        assert response.status_code == 400
        assert response.get_json()["error"]
        assert dump(app) == before


@SETTINGS
@given(
    raw=st.binary(max_size=200),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded", "image/png"]
    ),
)
def test_undecodable_bodies_get_a_clear_error(app, client, demo_jobs, raw, content_type):
    token = login(client, "installer")
    job = demo_jobs[0]["id"]
    before = dump(app)
    for action in ("connect", "abort"):
        response = client.post(
            f"/api/jobs/{job}/{action}",
            data=raw,
            headers={"X-CSRF-Token": token, "Content-Type": content_type},
        )
        assert response.status_code == 400
        assert response.is_json and response.get_json()["error"]
    assert dump(app) == before


@SETTINGS
@given(
    fields=st.dictionaries(
        st.sampled_from(["action", "username", "secret", "role", "display_name"]),
        st.text(max_size=300),
    )
)
def test_user_form_junk_is_refused_and_changes_nothing(app, client, fields):
    token = login(client, "supervisor")
    with app.app_context():
        users_before = station().store.reader().execute("SELECT * FROM users").fetchall()
    valid_add = fields.get("action") == "add" and fields.get("role") in ("installer", "supervisor")
    response = client.post("/s/users", data={**fields, "csrf_token": token})
    if not valid_add and fields.get("action") not in ("disable", "enable", "reset", "unlock"):
        assert response.status_code == 400
        assert "Unknown action" in response.get_data(as_text=True)
        with app.app_context():
            after = station().store.reader().execute("SELECT * FROM users").fetchall()
        assert after == users_before


@SETTINGS
@given(username=st.text(max_size=300), secret=st.text(max_size=300), role=st.text(max_size=20))
def test_login_junk_is_refused(app, client, username, secret, role):
    client.get("/login")
    with client.session_transaction() as sess:
        token = sess["csrf"]
    before = dump(app)
    response = client.post(
        f"/login?role={role}",
        data={"username": username, "secret": secret, "role": role, "csrf_token": token},
    )
    assert response.status_code in (401, 302)
    if response.status_code == 401:
        assert dump(app) == before
