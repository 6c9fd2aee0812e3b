"""Logins tell a real user from an unknown name neither by their answer nor by their work,
and nobody can lock a user out from another device."""

from __future__ import annotations

import hashlib
import logging

import pytest

from tests.conftest import login
from webapp.auth import lockout, users
from webapp.sim.demo import DEMO_INSTALLER, DEMO_SUPERVISOR
from webapp.store.db import Store
from webapp.web.context import station

INSTALLER_NAME, _, INSTALLER_PIN = DEMO_INSTALLER
ATTACKER = "10.0.0.66"
PHONE = "10.0.0.5"
WRONG_PIN = "000000"


@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    store = Store.open(tmp_path)
    with store.write() as db:
        users.add_user(db, "alex", users.INSTALLER, "246810")
        users.add_user(db, "sam", users.SUPERVISOR, "long-password-1")
        users.add_user(db, "kim", users.INSTALLER, "112233")
        users.set_disabled(db, "kim", True)
    yield store
    store.close()


@pytest.fixture
def scrypt_calls(monkeypatch):  # type: ignore[no-untyped-def]
    """Every scrypt computation, with its cost parameters."""
    calls: list[tuple] = []
    real = hashlib.scrypt

    def counting(password, *, salt, n, r, p, dklen, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((n, r, p, dklen))
        return real(password, salt=salt, n=n, r=r, p=p, dklen=dklen, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


def _refusal(store: Store, name: str, secret: str, role: str, address: str) -> str:
    with pytest.raises(users.LoginRefused) as refused:
        users.login(store, name, secret, role, address)
    return refused.value.message


@pytest.mark.parametrize(
    ("name", "secret", "role"),
    [
        ("alex", WRONG_PIN, users.INSTALLER),  # a real user, wrong PIN
        ("nobody", WRONG_PIN, users.INSTALLER),  # a name nobody has
        ("alex", WRONG_PIN, users.SUPERVISOR),  # a real user on the wrong tab
        ("kim", WRONG_PIN, users.INSTALLER),  # a disabled user
        ("sam", "wrong-password", users.SUPERVISOR),
        ("alex", "246810", users.SUPERVISOR),  # the right PIN on the wrong tab
        ("kim", "112233", users.INSTALLER),  # a disabled user's right PIN
    ],
)
def test_every_refused_login_hashes_once_at_a_users_cost(store, scrypt_calls, name, secret, role):
    """The same work whoever is named: exactly one scrypt of the same cost (no timing in
    tests: ``make bench`` prints the times)."""
    assert _refusal(store, name, secret, role, PHONE) == users.WRONG_MESSAGE
    assert scrypt_calls == [(16384, 8, 1, 32)]


def test_a_good_login_hashes_once_too(store, scrypt_calls):
    assert users.login(store, "alex", "246810", users.INSTALLER, PHONE).username == "alex"
    assert scrypt_calls == [(16384, 8, 1, 32)]


def test_known_and_unknown_names_get_the_same_answers_all_the_way_to_a_lockout(store):
    answers = {
        name: [
            _refusal(store, name, WRONG_PIN, users.INSTALLER, ATTACKER)
            for _ in range(lockout.FREE_FAILURES + 2)
        ]
        for name in ("alex", "nobody")
    }
    assert answers["alex"] == answers["nobody"]
    assert answers["alex"][: lockout.FREE_FAILURES] == [users.WRONG_MESSAGE] * 5
    assert all("Too many wrong tries" in a for a in answers["alex"][lockout.FREE_FAILURES :])
    assert not any("locked" in a.lower() and "account" in a.lower() for a in answers["alex"])


def test_an_attacker_cannot_lock_out_the_installer(store):
    for _ in range(lockout.MAX_FAILURES_PER_ADDRESS + 5):
        with pytest.raises(users.LoginRefused):
            users.login(store, "alex", WRONG_PIN, users.INSTALLER, ATTACKER)
    assert users.login(store, "alex", "246810", users.INSTALLER, PHONE).username == "alex"
    # nor the supervisor, from the wrong tab or the right one
    for role in (users.INSTALLER, users.SUPERVISOR):
        for _ in range(lockout.FREE_FAILURES + 1):
            with pytest.raises(users.LoginRefused):
                users.login(store, "sam", "guess-guess-guess", role, "10.0.0.67")
    assert users.login(store, "sam", "long-password-1", users.SUPERVISOR, PHONE).username == "sam"


def test_the_hold_doubles_from_the_fifth_failure_to_a_ceiling(store):
    now = 1_000_000.0
    holds = []
    with store.write() as db:
        for _ in range(12):
            begun = lockout.begin(db, "alex", ATTACKER, now)
            assert isinstance(begun, lockout.Attempt)
            holds.append(0.0 if begun.locked_until is None else begun.locked_until - now)
            # while held, another try is refused and not counted
            if begun.locked_until is not None:
                held = lockout.begin(db, "alex", ATTACKER, begun.locked_until - 1)
                assert isinstance(held, lockout.Hold) and not held.per_address
            now = (begun.locked_until or now) + 1
    assert holds == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900, 900]


def test_failures_are_forgotten_after_a_quiet_day(store):
    now = 1_000_000.0
    with store.write() as db:
        for _ in range(3):
            lockout.begin(db, "alex", ATTACKER, now)
        later = now + lockout.FAILURE_MEMORY_SECONDS + 1
        begun = lockout.begin(db, "alex", ATTACKER, later)
    assert isinstance(begun, lockout.Attempt) and begun.failures == 1


def test_one_address_trying_many_names_is_held_for_all_of_them(store):
    for n in range(lockout.MAX_FAILURES_PER_ADDRESS):
        assert _refusal(store, f"name{n}", WRONG_PIN, users.INSTALLER, ATTACKER) == (
            users.WRONG_MESSAGE
        )
    message = _refusal(store, "alex", "246810", users.INSTALLER, ATTACKER)
    assert message.startswith("Too many failed logins from this device")


def test_a_right_pin_is_not_a_guess_even_on_the_wrong_tab(store):
    for _ in range(lockout.FREE_FAILURES + 3):
        _refusal(store, "alex", "246810", users.SUPERVISOR, PHONE)
    assert users.login(store, "alex", "246810", users.INSTALLER, PHONE).username == "alex"


def test_a_good_login_starts_the_count_afresh_on_that_address_only(store):
    for address in (PHONE, ATTACKER):
        for _ in range(lockout.FREE_FAILURES - 1):
            _refusal(store, "alex", WRONG_PIN, users.INSTALLER, address)
    users.login(store, "alex", "246810", users.INSTALLER, PHONE)
    with store.write() as db:
        rows = {r["address"]: r["failures"] for r in db["login_failures"].rows}
    assert rows == {ATTACKER: lockout.FREE_FAILURES - 1}


def test_failures_and_lockouts_are_logged_without_the_secret(store, caplog):
    caplog.set_level(logging.INFO, logger="webapp.auth")
    secret = "975310"
    for _ in range(lockout.FREE_FAILURES + 1):
        with pytest.raises(users.LoginRefused):
            users.login(store, "alex", secret, users.INSTALLER, ATTACKER)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "login failed for 'alex' from 10.0.0.66 (1 in a row)" in text
    assert "login locked for 'alex' from 10.0.0.66 for 30 s after 5 failures" in text
    assert "login refused for 'alex' from 10.0.0.66: name on this address held" in text
    assert secret not in text
    assert all(r.levelno == logging.WARNING for r in caplog.records if "login" in r.getMessage())


def test_blank_fields_are_refused_without_counting(store):
    assert _refusal(store, " ", "1", users.INSTALLER, PHONE) == users.BLANK_MESSAGE
    assert _refusal(store, "alex", "", users.INSTALLER, PHONE) == users.BLANK_MESSAGE
    with store.write() as db:
        assert db["login_failures"].count == 0


# ---------------------------------------------------------------- through the pages
def _post_login(client, name: str, secret: str, role: str = "installer"):  # type: ignore[no-untyped-def]
    client.get(f"/login?role={role}")
    with client.session_transaction() as sess:
        token = sess["csrf"]
    return client.post(
        f"/login?role={role}",
        data={"username": name, "secret": secret, "role": role, "csrf_token": token},
    )


def _lock_out(app, name: str = INSTALLER_NAME) -> None:  # type: ignore[no-untyped-def]
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = ATTACKER
    for _ in range(lockout.FREE_FAILURES):
        assert _post_login(attacker, name, WRONG_PIN).status_code == 401


def test_the_login_page_answers_known_and_unknown_names_alike(app):
    pages = {}
    for name in (INSTALLER_NAME, "nobody"):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.1.{len(pages) + 1}"
        pages[name] = [
            (r.status_code, r.get_data(as_text=True).split("<main>")[1].split("<form")[0])
            for r in (_post_login(client, name, WRONG_PIN) for _ in range(7))
        ]
    assert pages[INSTALLER_NAME] == pages["nobody"]
    assert all(status == 401 for status, _ in pages["nobody"])


def test_the_supervisor_sees_and_lifts_a_lockout(app, client, caplog):
    caplog.set_level(logging.INFO)
    _lock_out(app)
    victim_on_that_address = app.test_client()
    victim_on_that_address.environ_base["REMOTE_ADDR"] = ATTACKER
    assert _post_login(victim_on_that_address, INSTALLER_NAME, INSTALLER_PIN).status_code == 401
    token = login(client, "supervisor")
    device = client.get("/s/device").get_data(as_text=True)
    assert 'id="lockouts"' in device and ATTACKER in device and INSTALLER_NAME in device
    assert 'id="failures"' in device
    page = client.get("/s/users").get_data(as_text=True)
    assert "Locked out on 1 device" in page and 'value="unlock"' in page
    refused = client.post("/s/users", data={"action": "unlock", "username": INSTALLER_NAME})
    assert refused.status_code == 400  # no CSRF token
    done = client.post(
        "/s/users", data={"action": "unlock", "username": INSTALLER_NAME, "csrf_token": token}
    )
    assert done.status_code == 302
    assert "Locked out" not in client.get("/s/users").get_data(as_text=True)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"user admin: unlock '{INSTALLER_NAME}' by supervisor '{DEMO_SUPERVISOR[0]}'" in logged
    assert _post_login(victim_on_that_address, INSTALLER_NAME, INSTALLER_PIN).status_code == 302


def test_unlocking_a_name_nobody_has_is_refused(app, client):
    token = login(client, "supervisor")
    response = client.post(
        "/s/users", data={"action": "unlock", "username": "nobody", "csrf_token": token}
    )
    assert response.status_code == 400 and "No user nobody" in response.get_data(as_text=True)


def test_the_device_page_lists_who_is_logged_in(app, client):
    installer = app.test_client()
    installer.environ_base["REMOTE_ADDR"] = PHONE
    login(installer, "installer")
    login(client, "supervisor")
    with app.app_context():
        count = station().store.reader()["sessions"].count_where("user_id IS NOT NULL")
    assert count == 2
    page = client.get("/s/device").get_data(as_text=True)
    assert 'id="sessions"' in page and PHONE in page and INSTALLER_NAME in page
