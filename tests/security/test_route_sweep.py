"""Every route and every Socket.IO event, as everyone, against a table of who may do what.

The routes come from the app's ``url_map`` and the events from Socket.IO's handlers, so a
new one is swept automatically, and fails until it is classified in :data:`ROUTES` or
:data:`EVENTS`. Each route is tried as four people (nobody logged in, the installer who owns
the job, another installer, a supervisor): with each method it allows, with a CSRF token
and, for the unsafe ones, without one and with a wrong one; and with every method it does
not allow. One app and one client per person serve the whole sweep.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from tests.conftest import FAST, csrf_of, login
from tests.security.conftest import execute, socket_for
from tests.web.conftest import dump
from webapp.sim.demo import DEMO_INSTALLER, DEMO_INSTALLER_2, DEMO_SUPPLIER_EUI
from webapp.web.context import station

ANONYMOUS, OWNER, OTHER, SUPERVISOR = "anonymous", "owner", "other installer", "supervisor"
PEOPLE = (ANONYMOUS, OWNER, OTHER, SUPERVISOR)
LOGINS = {OWNER: ("installer", DEMO_INSTALLER), OTHER: ("installer", DEMO_INSTALLER_2)}
LOGINS[SUPERVISOR] = ("supervisor", None)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# what a response is, as far as access goes
OK = "ok"  # the view ran (whatever it then said about the request's content)
LOGIN = "login"  # sent to log in: a redirect to /login, or 401 "Log in first." from the API
FORBIDDEN = "forbidden"  # 403: the wrong role
MISSING = "missing"  # 404: not this installer's job (or nothing there)
CSRF = "csrf"  # 400: no (or a wrong) CSRF token
METHOD = "method"  # 405


@dataclass(frozen=True)
class Access:
    """Who may use a route: the answer per person, when the request is otherwise right."""

    anonymous: str = LOGIN
    owner: str = OK
    other: str = OK
    supervisor: str = OK
    overrides: dict[str, str] = field(default_factory=dict)  # by method: "POST:owner"

    def expected(self, person: str, method: str) -> str:
        key = f"{method}:{person}"
        if key in self.overrides:
            return self.overrides[key]
        return {ANONYMOUS: self.anonymous, OWNER: self.owner, OTHER: self.other}.get(
            person, self.supervisor
        )


PUBLIC = Access(anonymous=OK)
INSTALLER_OWN_JOB = Access(other=MISSING, supervisor=FORBIDDEN)
INSTALLER_ONLY = Access(supervisor=FORBIDDEN)
SUPERVISOR_ONLY = Access(owner=FORBIDDEN, other=FORBIDDEN)
OWN_JOB_OR_SUPERVISOR = Access(other=MISSING)
ANY_ROLE = Access()

#: Every endpoint, classified. A route missing here fails the sweep: classify it.
ROUTES: dict[str, Access] = {
    "static": PUBLIC,
    "app_shell.service_worker": PUBLIC,
    "app_shell.manifest": PUBLIC,
    "auth.index": Access(anonymous=LOGIN),  # nobody logged in: off to the login page
    "auth.login": PUBLIC,
    "auth.logout": Access(anonymous=LOGIN, owner=LOGIN, other=LOGIN, supervisor=LOGIN),
    "installer.jobs": INSTALLER_ONLY,
    "installer.job": INSTALLER_OWN_JOB,
    "installer.hub": INSTALLER_OWN_JOB,
    "installer.run": INSTALLER_OWN_JOB,
    "installer.survey": INSTALLER_OWN_JOB,
    "installer.finish": INSTALLER_OWN_JOB,
    "installer.summary": INSTALLER_OWN_JOB,
    "installer.workpack": INSTALLER_ONLY,
    "api.snapshot": OWN_JOB_OR_SUPERVISOR,
    "api.scan": INSTALLER_OWN_JOB,
    "api.connect": INSTALLER_OWN_JOB,
    "api.start": INSTALLER_OWN_JOB,
    "api.pause": INSTALLER_OWN_JOB,
    "api.abort_job": INSTALLER_OWN_JOB,
    "api.sim_wake_gsme": INSTALLER_OWN_JOB,
    "api.sim_power_cycle": INSTALLER_OWN_JOB,
    "api.sim_meter_menu": INSTALLER_OWN_JOB,
    "api.hub_label": INSTALLER_OWN_JOB,
    "api.clock": ANY_ROLE,
    "messages.command": OWN_JOB_OR_SUPERVISOR,
    "messages.response": OWN_JOB_OR_SUPERVISOR,
    "supervisor.history": SUPERVISOR_ONLY,
    "supervisor.job": SUPERVISOR_ONLY,
    "supervisor.job_capture": Access(
        owner=FORBIDDEN,
        other=FORBIDDEN,
        supervisor=MISSING,  # the demo job has no capture
    ),
    "supervisor.users": SUPERVISOR_ONLY,
    "supervisor.qr_code": SUPERVISOR_ONLY,
    "supervisor.no_wan": SUPERVISOR_ONLY,
    "supervisor.device": SUPERVISOR_ONLY,
    "workpacks.suppliers": SUPERVISOR_ONLY,
    "workpacks.workpacks": SUPERVISOR_ONLY,
    "workpacks.unloads": SUPERVISOR_ONLY,
    "workpacks.unload_file": SUPERVISOR_ONLY,
}
#: Routes that end the session they are called in: each call gets a fresh login.
SESSION_ENDING = frozenset({"auth.logout"})

# Socket.IO events: what each person's socket gets for a well-formed event
CONNECTED, REFUSED = "connected", "refused"
SNAPSHOT, ERROR, QUIET = "snapshot", "error", "quiet"
EVENTS: dict[str, dict[str, str]] = {
    "connect": {ANONYMOUS: REFUSED, OWNER: CONNECTED, OTHER: CONNECTED, SUPERVISOR: CONNECTED},
    "join": {OWNER: SNAPSHOT, OTHER: ERROR, SUPERVISOR: SNAPSHOT},
    # a pong answering no ping of this server's: nothing stored, at most an error
    "clock_pong": {OWNER: QUIET, OTHER: QUIET, SUPERVISOR: QUIET},
    "disconnect": {OWNER: QUIET, OTHER: QUIET, SUPERVISOR: QUIET},
}
#: A well-formed payload per event (the job is the owner's).
PAYLOADS: dict[str, Any] = {
    "join": lambda job: {"job_id": job},
    "clock_pong": lambda _job: {"sent_ms": 1.0, "phone_ms": 1.0},
}


@dataclass
class Sweep:
    app: Flask
    clients: dict[str, FlaskClient]
    values: dict[str, Any]  # a URL variable's value: the owner's job, command, response...


def _response_class(response: Any) -> str:
    status = response.status_code
    if status == 405:
        return METHOD
    if status == 400 and "security token" in response.get_data(as_text=True):
        return CSRF
    if status in (301, 302, 303, 307, 308):
        return LOGIN if urlsplit(response.headers["Location"]).path == "/login" else OK
    if status == 401 and response.is_json and response.get_json().get("error") == "Log in first.":
        return LOGIN
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return MISSING
    assert status < 500, f"{status}: {response.get_data(as_text=True)[:300]}"
    return OK


def _client(app: Flask, person: str) -> FlaskClient:
    client = app.test_client()
    if person == ANONYMOUS:
        client.get("/login")  # a session with a CSRF token, as the login page gives
    else:
        role, who = LOGINS[person]
        login(client, role, who)
    return client


def _prepare(app: Flask, data_dir: Path) -> dict[str, Any]:
    """The owner's job, one of its commands, a response to it and an unload to download."""
    with app.app_context():
        db = station().store.reader()
        owner = db.execute("SELECT id FROM users WHERE username = ?", [DEMO_INSTALLER[0]])
        owner_id = owner.fetchone()[0]
        job = db.execute(
            "SELECT id FROM jobs WHERE assignee_id = ? ORDER BY id", [owner_id]
        ).fetchone()[0]
        command, raw = db.execute(
            "SELECT id, raw FROM commands WHERE job_id = ? ORDER BY seq", [job]
        ).fetchone()
    execute(
        app,
        "INSERT INTO responses (command_id, job_id, raw, sha256, kind, route, received_at) "
        "VALUES (?, ?, ?, ?, 'response', 'hht', '2026-01-01T00:00:00+00:00')",
        [command, job, raw, hashlib.sha256(b"sweep" + raw).hexdigest()],
    )
    unloads = data_dir / "unloads"
    unloads.mkdir(exist_ok=True)
    (unloads / "sweep.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    execute(
        app,
        "INSERT INTO unloads (supplier_eui, created_at, file_name) VALUES (?, ?, 'sweep.zip')",
        [DEMO_SUPPLIER_EUI, "2026-01-01T00:00:00+00:00"],
    )
    with app.app_context():
        db = station().store.reader()
        response = db.execute("SELECT max(id) FROM responses").fetchone()[0]
        unload = db.execute("SELECT max(id) FROM unloads").fetchone()[0]
    return {
        "job_id": job,
        "command_id": command,
        "response_id": response,
        "unload_id": unload,
        "filename": "css/hht.css",
    }


@pytest.fixture(scope="module")
def sweep(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sweep]:
    from webapp.station import open_app
    from webapp.web.app import shutdown

    data_dir = tmp_path_factory.mktemp("sweep") / "data"
    shutil.copytree(demo_template, data_dir)
    app = open_app(data_dir, time_scale=FAST, test_config={"TESTING": True})
    try:
        values = _prepare(app, data_dir)
        yield Sweep(app, {person: _client(app, person) for person in PEOPLE}, values)
    finally:
        shutdown(app)


def _rules(app: Flask) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda rule: (rule.endpoint, rule.rule))


def _url(sweep: Sweep, rule: Rule) -> str:
    missing = [name for name in rule.arguments if name not in sweep.values]
    assert not missing, f"{rule.endpoint} ({rule.rule}): give the sweep a value for {missing}"
    with sweep.app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **{name: sweep.values[name] for name in rule.arguments})


def _send(client: FlaskClient, method: str, url: str, token: str | None, json_body: bool) -> Any:
    headers = {"X-CSRF-Token": token} if token is not None else {}
    if method == "GET":
        return client.get(url, headers=headers)
    if json_body:
        return client.open(url, method=method, json={}, headers=headers)
    return client.open(url, method=method, data={}, headers=headers)


def _person_client(sweep: Sweep, endpoint: str, person: str) -> FlaskClient:
    if endpoint in SESSION_ENDING:
        return _client(sweep.app, person)
    return sweep.clients[person]


def test_every_route_is_classified(sweep):
    unclassified = sorted({rule.endpoint for rule in _rules(sweep.app)} - ROUTES.keys())
    assert not unclassified, (
        "routes missing from the access table in tests/security/test_route_sweep.py: "
        + ", ".join(unclassified)
        + " (say who may use each in ROUTES)"
    )
    stale = sorted(ROUTES.keys() - {rule.endpoint for rule in _rules(sweep.app)})
    assert not stale, f"ROUTES names endpoints the app no longer has: {stale}"


def test_every_route_answers_each_person_as_the_table_says(sweep):
    wrong = []
    for rule in _rules(sweep.app):
        access = ROUTES.get(rule.endpoint)
        if access is None:
            continue  # reported by test_every_route_is_classified
        url = _url(sweep, rule)
        api = url.startswith("/api/")
        allowed = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for person in PEOPLE:
            for method in allowed:
                client = _person_client(sweep, rule.endpoint, person)
                got = _response_class(_send(client, method, url, csrf_of(client), api))
                expected = access.expected(person, method)
                if got != expected:
                    wrong.append(f"{method} {url} as {person}: {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)


def test_unsafe_methods_need_the_csrf_token_whoever_sends_them(sweep):
    wrong = []
    for rule in _rules(sweep.app):
        url = _url(sweep, rule)
        for method in sorted((rule.methods & UNSAFE) or {"POST"}):
            for person in PEOPLE:
                client = _person_client(sweep, rule.endpoint, person)
                for token in (None, "not-the-token"):
                    got = _response_class(_send(client, method, url, token, False))
                    if got != CSRF:
                        wrong.append(f"{method} {url} as {person}, token {token}: {got}")
    assert not wrong, "\n".join(wrong)


def test_methods_a_route_does_not_allow_are_refused(sweep):
    wrong = []
    for rule in _rules(sweep.app):
        url = _url(sweep, rule)
        for method in sorted(set(METHODS) - rule.methods):
            for person in PEOPLE:
                client = sweep.clients[person]
                got = _response_class(_send(client, method, url, csrf_of(client), False))
                if got != METHOD:
                    wrong.append(f"{method} {url} as {person}: {got}")
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------- Socket.IO
def _handlers(app: Flask) -> list[str]:
    return sorted(app.extensions["hht"].socketio.server.handlers.get("/", {}))


def _outcome(sock: Any) -> str:
    names = [message["name"] for message in sock.queue]
    sock.queue.clear()
    if "job" in names:
        return SNAPSHOT
    return ERROR if "error" in names else QUIET


def test_every_socket_event_is_classified(sweep):
    unclassified = sorted(set(_handlers(sweep.app)) - EVENTS.keys())
    assert not unclassified, (
        "Socket.IO events missing from EVENTS in tests/security/test_route_sweep.py: "
        + ", ".join(unclassified)
    )


def test_every_socket_event_answers_each_person_as_the_table_says(sweep):
    job = sweep.values["job_id"]
    wrong = []
    for person in PEOPLE:
        sock = socket_for(sweep.app, sweep.clients[person])
        got = CONNECTED if sock.is_connected() else REFUSED
        if got != EVENTS["connect"][person]:
            wrong.append(f"connect as {person}: {got}")
        if not sock.is_connected():
            continue
        before = dump(sweep.app)
        for event in _handlers(sweep.app):
            if event in ("connect", "disconnect"):
                continue
            sock.emit(event, PAYLOADS.get(event, lambda _job: {})(job))
            got = _outcome(sock)
            if got != EVENTS.get(event, {}).get(person):
                wrong.append(f"{event} as {person}: {got}")
            sock.queue.clear()
        if before != dump(sweep.app):
            wrong.append(f"{person}'s events changed the database")
        sock.disconnect()
    assert not wrong, "\n".join(wrong)


def test_no_socket_event_does_anything_once_the_session_has_ended(sweep):
    """Every handler first re-reads the session: ended unseen (no disconnect), the socket's
    next event gets an error and the socket is closed."""
    job = sweep.values["job_id"]
    for event in _handlers(sweep.app):
        if event in ("connect", "disconnect"):
            continue
        client = _client(sweep.app, OWNER)
        sock = socket_for(sweep.app, client)
        assert sock.is_connected()
        execute(sweep.app, "DELETE FROM sessions WHERE user_id IS NOT NULL AND last_seen >= 0")
        before = dump(sweep.app)
        sock.emit(event, PAYLOADS.get(event, lambda _job: {})(job))
        assert [m["name"] for m in sock.queue] == ["error"], event
        assert not sock.is_connected(), event
        assert dump(sweep.app) == before, event
    # the sweep's own clients were logged out by that: log them in again for any later test
    for person in (OWNER, OTHER, SUPERVISOR):
        sweep.clients[person] = _client(sweep.app, person)
