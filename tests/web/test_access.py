"""Every page, API call and socket refuses anonymous and wrong-role users."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, login

INSTALLER_PAGES = ["/i/", "/i/jobs/{job}", "/i/jobs/{job}/hub", "/i/jobs/{job}/run"]
SUPERVISOR_PAGES = ["/s/", "/s/jobs/{job}", "/s/jobs/{job}/capture.pcapng", "/s/users"]
INSTALLER_API = [
    "/api/jobs/{job}/scan",
    "/api/jobs/{job}/connect",
    "/api/jobs/{job}/start",
    "/api/jobs/{job}/pause",
    "/api/jobs/{job}/abort",
    "/api/jobs/{job}/sim/wake-gsme",
    "/api/jobs/{job}/sim/power-cycle",
    "/api/jobs/{job}/sim/meter-menu",
]


def _fill(path: str, job: str) -> str:
    return path.format(job=job)


def test_anonymous_users_are_sent_to_login(client, demo_jobs):
    job = demo_jobs[0]["id"]
    for page in INSTALLER_PAGES + SUPERVISOR_PAGES:
        response = client.get(_fill(page, job))
        assert response.status_code == 302, page
        assert "/login" in response.headers["Location"]
    assert client.get(f"/api/jobs/{job}").status_code == 401


def test_anonymous_api_calls_are_refused_even_with_a_token(client, demo_jobs):
    job = demo_jobs[0]["id"]
    client.get("/login")
    with client.session_transaction() as sess:
        token = sess["csrf"]
    for path in INSTALLER_API:
        response = client.post(_fill(path, job), json={}, headers={"X-CSRF-Token": token})
        assert response.status_code == 401, path
        assert response.get_json()["error"] == "Log in first."


def test_installer_cannot_see_supervisor_pages(client, installer, demo_jobs):
    job = demo_jobs[0]["id"]
    for page in SUPERVISOR_PAGES:
        assert client.get(_fill(page, job)).status_code == 403, page


def test_supervisor_cannot_drive_installer_actions(client, demo_jobs):
    token = login(client, "supervisor")
    job = demo_jobs[0]["id"]
    for page in INSTALLER_PAGES:
        assert client.get(_fill(page, job)).status_code == 403, page
    for path in INSTALLER_API:
        response = client.post(_fill(path, job), json={}, headers={"X-CSRF-Token": token})
        assert response.status_code == 403, path


def test_installer_sees_only_own_jobs(client, demo_jobs):
    token = login(client, "installer")
    others = [j for j in demo_jobs if j["assignee_id"] != demo_jobs[0]["assignee_id"]]
    assert others, "the demo has a job for another installer"
    job = others[0]["id"]
    assert client.get(f"/i/jobs/{job}").status_code == 404
    response = client.post(f"/api/jobs/{job}/scan", json={}, headers={"X-CSRF-Token": token})
    assert response.status_code == 404


def test_posts_without_csrf_token_are_refused(client, demo_jobs):
    login(client, "installer")
    job = demo_jobs[0]["id"]
    response = client.post(f"/api/jobs/{job}/scan", json={})
    assert response.status_code == 400
    assert "security token" in response.get_json()["error"]
    response = client.post("/logout")
    assert response.status_code == 400
    # a login form posted from elsewhere (no token) is refused too
    client.post("/logout", data={"csrf_token": "wrong"})
    assert client.post("/login", data={"username": "alex", "secret": "246810"}).status_code == 400


def test_security_headers_and_cookie_flags(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    login_response = client.post(
        "/login?role=installer",
        data={
            "username": "alex",
            "secret": "246810",
            "role": "installer",
            "csrf_token": client.get_cookie("hht_session") and _token(client),
        },
    )
    cookie = login_response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


def _token(client) -> str:  # type: ignore[no-untyped-def]
    with client.session_transaction() as sess:
        return sess["csrf"]


def test_wrong_pin_is_refused_with_a_plain_message(client):
    client.get("/login")
    response = client.post(
        "/login?role=installer",
        data={
            "username": "alex",
            "secret": "000000",
            "role": "installer",
            "csrf_token": _token(client),
        },
    )
    assert response.status_code == 401
    assert "Wrong name or PIN/password." in response.get_data(as_text=True)


OUTSIDE_URL = re.compile(
    r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import\s+["']?https?:""",
    re.IGNORECASE,
)


@pytest.mark.parametrize("folder", ["templates", "static"])
def test_no_template_or_static_file_references_an_outside_url(folder):
    checked = 0
    for path in Path(REPO_ROOT, folder).rglob("*"):
        if path.is_file() and path.suffix in {".html", ".js", ".css", ".json", ".webmanifest"}:
            text = path.read_text(errors="replace")
            if path.name.endswith(".min.js"):
                # vendored library: it may mention URLs in messages, but must load nothing
                assert not re.search(r"""import\s*\(\s*["']https?://""", text), path
                checked += 1
                continue
            match = OUTSIDE_URL.search(text)
            assert match is None, f"{path}: {match.group(0) if match else ''}"
            checked += 1
    assert checked > 0
