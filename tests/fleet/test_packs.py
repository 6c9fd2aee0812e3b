"""A pack for an installer goes to the HHT that installer is on, and stays there."""

from __future__ import annotations

import secrets
import sqlite3
import time
from pathlib import Path

from tests.fleet.conftest import hht_rows, sync
from tests.workpack.conftest import job_spec, pack_spec
from webapp.fleet.office import packs
from webapp.identity import terminal_identity
from webapp.sim.packs import build_pack


def _log_in(data_dir: Path, username: str, at: float) -> None:
    """A session of ``username`` on the HHT, last seen at ``at`` (its clock), as a login
    leaves one."""
    db = sqlite3.connect(data_dir / "hht.sqlite")
    try:
        user_id, role = db.execute(
            "SELECT id, role FROM users WHERE username = ?", [username]
        ).fetchone()
        db.execute(
            "INSERT INTO sessions (id, user_id, role, created, last_seen, address, agent, csrf, "
            "data) VALUES (?, ?, ?, ?, ?, '127.0.0.1', 'test', '', '{}')",
            [secrets.token_hex(32), user_id, role, at, at],
        )
        db.commit()
    finally:
        db.close()


def _pack(van: Path, job_id: str) -> bytes:
    return build_pack(pack_spec(job_spec(job_id, f"{job_id} Road", ["CCS01_ESME"])), van).data()


def test_an_installer_pack_goes_to_the_hht_they_last_logged_in_on(make_hht, conn) -> None:
    van_p, van_q = make_hht("van-p"), make_hht("van-q")
    p_id, q_id = terminal_identity(van_p).terminal_id, terminal_identity(van_q).terminal_id
    sync(van_p)
    sync(van_q)  # alex is a user of both; van-q showed them last
    assert {i["username"]: i["hht_id"] for i in packs.installers(conn)}["alex"] == q_id
    _log_in(van_q, "alex", time.time())
    sync(van_q)
    # then alex logs in on van-p, whose clock is hours behind van-q's: the fleet's clock decides
    _log_in(van_p, "alex", time.time() - 6 * 3600)
    sync(van_p)
    assert {i["username"]: i["hht_id"] for i in packs.installers(conn)}["alex"] == p_id
    packs.publish(conn, _pack(van_p, "FA1"), actor="test", installer="alex")
    packs.publish(conn, _pack(van_p, "FN1"), actor="test", installer="nobody")
    assert sync(van_q).packs_loaded == []  # not alex's HHT now
    assert len(sync(van_p).packs_loaded) == 1
    assert hht_rows(van_p, "SELECT id FROM jobs WHERE id = 'FA1'") == [{"id": "FA1"}]
    assert hht_rows(van_q, "SELECT id FROM jobs WHERE id = 'FA1'") == []
    # alex's sessions on van-q end (logged out, expired): that does not make van-q theirs
    db = sqlite3.connect(van_q / "hht.sqlite")
    try:
        db.execute("DELETE FROM sessions")
        db.commit()
    finally:
        db.close()
    sync(van_q)
    assert {i["username"]: i["hht_id"] for i in packs.installers(conn)}["alex"] == p_id
    # alex moves to van-q: the next pack goes there, the one loaded stays on van-p
    _log_in(van_q, "alex", time.time())
    sync(van_q)
    packs.publish(conn, _pack(van_q, "FA2"), actor="test", installer="alex")
    assert sync(van_p).packs_loaded == []
    assert len(sync(van_q).packs_loaded) == 1
    where = {(r["pack_id"], r["hht"], r["state"]) for r in packs.deliveries(conn)}
    fa1 = next(r["pack_id"] for r in packs.deliveries(conn) if r["hht"] == "van-p")
    fa2 = next(r["pack_id"] for r in packs.deliveries(conn) if r["hht"] == "van-q")
    assert fa1 != fa2
    assert (fa1, "van-p", "loaded") in where and (fa2, "van-q", "loaded") in where
    # a pack for an installer on no HHT waits, offered to nobody
    waiting = [r for r in packs.deliveries(conn) if r["installer"] == "nobody"]
    assert [(r["hht"], r["state"]) for r in waiting] == [(None, None)]


def test_a_disabled_or_revoked_installer_hht_gets_no_pack(make_hht, conn) -> None:
    van_p, van_q = make_hht("van-p"), make_hht("van-q")
    sync(van_q)
    sync(van_p)  # van-p showed alex last
    db = sqlite3.connect(van_p / "hht.sqlite")
    try:
        db.execute("UPDATE users SET disabled = 1 WHERE username = 'alex'")
        db.commit()
    finally:
        db.close()
    sync(van_p)  # alex is disabled on van-p: van-q is where they are
    q_id = terminal_identity(van_q).terminal_id
    assert {i["username"]: i["hht_id"] for i in packs.installers(conn)}["alex"] == q_id
    packs.publish(conn, _pack(van_q, "FD1"), actor="test", installer="alex")
    assert sync(van_p).packs_loaded == []
    assert len(sync(van_q).packs_loaded) == 1
