from __future__ import annotations

import pytest

from webapp.auth import lockout, users
from webapp.auth.secrets import check_secret, hash_secret
from webapp.store.db import Store


@pytest.fixture
def store(tmp_path):
    return Store.open(tmp_path)


def test_secrets_are_hashed_and_checked():
    stored = hash_secret("246810")
    assert "246810" not in stored
    assert stored.startswith("scrypt$")
    assert check_secret("246810", stored)
    assert not check_secret("246811", stored)
    assert not check_secret("246810", "garbage")


def test_add_user_checks_names_and_secrets(store):
    with store.write() as db:
        users.add_user(db, "alex", users.INSTALLER, "246810")
        with pytest.raises(users.UserError, match="already exists"):
            users.add_user(db, "alex", users.INSTALLER, "246810")
        with pytest.raises(users.UserError, match="6 to 8 digits"):
            users.add_user(db, "bob", users.INSTALLER, "12ab")
        with pytest.raises(users.UserError, match="at least 10"):
            users.add_user(db, "sue", users.SUPERVISOR, "short")
        with pytest.raises(users.UserError, match="username"):
            users.add_user(db, "Robert'); DROP", users.INSTALLER, "246810")


def test_every_change_to_a_user_is_in_the_audit_chain_with_who_made_it(store):
    from webapp.store.audit.key import load_key
    from webapp.store.audit.verify import verify_all

    with store.write() as db:
        users.add_user(db, "alex", users.INSTALLER, "246810", "Alex", actor="sam")
        users.set_disabled(db, "alex", True, actor="sam")
        users.set_disabled(db, "alex", False, actor="kim")
        users.reset_secret(db, "alex", "135790", actor=users.CONSOLE_ACTOR)
        users.unlock(db, "alex", actor="sam")
        with pytest.raises(users.UserError):  # refused: nothing recorded
            users.add_user(db, "alex", users.INSTALLER, "246810", actor="sam")
    rows = list(
        store.reader().query(
            "SELECT job_id, kind, message, data, actor FROM job_events "
            "WHERE kind LIKE 'user-%' ORDER BY seq"
        )
    )
    assert [(r["kind"], r["actor"]) for r in rows] == [
        (users.USER_ADDED, "sam"),
        (users.USER_DISABLED, "sam"),
        (users.USER_ENABLED, "kim"),
        (users.USER_SECRET_RESET, users.CONSOLE_ACTOR),
        (users.USER_UNLOCKED, "sam"),
    ]
    assert {r["kind"] for r in rows} == users.USER_EVENT_KINDS
    assert all(r["job_id"] is None and "alex" in r["message"] for r in rows)
    assert rows[3]["message"] == "User alex: PIN reset"
    for secret in ("246810", "135790"):
        assert not any(secret in r["message"] or secret in r["data"] for r in rows)
    assert verify_all(store.reader(), load_key(store.data_dir), store.data_dir).intact


def test_login_holds_a_name_on_one_address_and_a_reset_lifts_it(store):
    with store.write() as db:
        users.add_user(db, "alex", users.INSTALLER, "246810")
    for _ in range(lockout.FREE_FAILURES):
        with pytest.raises(users.LoginRefused, match="Wrong"):
            users.login(store, "alex", "000000", users.INSTALLER, "1.2.3.4")
    with pytest.raises(users.LoginRefused, match="Too many wrong tries"):
        users.login(store, "alex", "246810", users.INSTALLER, "1.2.3.4")
    # another address (the installer's own phone) is not held
    assert users.login(store, "alex", "246810", users.INSTALLER, "1.2.3.5").username == "alex"
    with store.write() as db:
        users.reset_secret(db, "alex", "111222")
    assert users.login(store, "alex", "111222", users.INSTALLER, "1.2.3.4").username == "alex"


def test_login_refuses_wrong_role_and_disabled_users(store):
    with store.write() as db:
        users.add_user(db, "sam", users.SUPERVISOR, "long-password-1")
        users.add_user(db, "alex", users.INSTALLER, "246810")
    with pytest.raises(users.LoginRefused, match="Wrong"):
        users.login(store, "sam", "long-password-1", users.INSTALLER, "a")
    with store.write() as db:
        users.set_disabled(db, "alex", True)
    with pytest.raises(users.LoginRefused, match="Wrong"):
        users.login(store, "alex", "246810", users.INSTALLER, "a")
    # a right secret is no guess: neither refusal counted against the names
    with store.write() as db:
        assert db["login_failures"].count == 0


def test_many_failures_from_one_source_are_throttled(store):
    with store.write() as db:
        users.add_user(db, "alex", users.INSTALLER, "246810")
    for n in range(lockout.MAX_FAILURES_PER_ADDRESS):
        with pytest.raises(users.LoginRefused, match="Wrong"):
            users.login(store, f"nobody{n}", "000000", users.INSTALLER, "9.9.9.9")
    with pytest.raises(users.LoginRefused, match="from this device"):
        users.login(store, "alex", "246810", users.INSTALLER, "9.9.9.9")
    assert users.login(store, "alex", "246810", users.INSTALLER, "9.9.9.8").username == "alex"
