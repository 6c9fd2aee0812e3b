"""HHT → fleet: enrolment, signed batches, idempotence, cuts, and the chain check."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.fleet.conftest import fleet_snapshot, hht_rows, sync
from webapp.fleet import protocol
from webapp.fleet.client import sync as client_sync
from webapp.fleet.client.sync import SyncError
from webapp.fleet.office.hhts import revoke
from webapp.identity import terminal_identity


def test_unknown_enrolled_and_revoked(make_hht, conn) -> None:
    stranger = make_hht(enrolled=False)
    with pytest.raises(SyncError, match="not enrolled") as refused:
        sync(stranger)
    assert refused.value.status == 403
    van = make_hht("van-a")
    assert sync(van).batches >= 1
    revoke(conn, "van-a")
    with pytest.raises(SyncError, match="revoked") as revoked:
        sync(van)
    assert revoked.value.status == 403


def test_a_batch_signed_by_another_key_is_refused(make_hht, conn, fleet_url) -> None:
    van = make_hht("van-a")
    other = make_hht("van-b")
    me = terminal_identity(van)
    body = protocol.encode({"hht": me.terminal_id, "format": protocol.BATCH_FORMAT})
    forged = protocol.sign(body, terminal_identity(other).key)
    link = client_sync.FleetLink(client_sync.joined_config(van), me)
    with pytest.raises(SyncError, match="signature") as refused:
        link._send(protocol.BATCH, body, forged)
    assert refused.value.status == 403


def test_jobs_reach_the_fleet_as_the_hht_has_them_and_a_repeat_adds_nothing(make_hht, conn) -> None:
    van = make_hht("van-a")
    report = sync(van)
    hht_id = terminal_identity(van).terminal_id
    jobs = hht_rows(van, "SELECT id, status FROM jobs ORDER BY id")
    held = conn.execute(
        "SELECT id, status, commands, answered FROM jobs WHERE hht_id = %s ORDER BY id", [hht_id]
    ).fetchall()
    assert [(j["id"], j["status"]) for j in jobs] == [(h["id"], h["status"]) for h in held]
    assert "completed" in {h["status"] for h in held}
    assert max(h["answered"] for h in held) > 0
    events = hht_rows(van, "SELECT seq, hash FROM job_events ORDER BY seq")
    assert report.chain_seq == events[-1]["seq"]
    stored = conn.execute(
        "SELECT seq, hash FROM events WHERE hht_id = %s ORDER BY seq", [hht_id]
    ).fetchall()
    assert [(e["seq"], e["hash"]) for e in events] == [(s["seq"], s["hash"]) for s in stored]
    raw = hht_rows(van, "SELECT id, raw FROM responses ORDER BY id")
    fleet_raw = conn.execute(
        "SELECT id, raw FROM responses WHERE hht_id = %s ORDER BY id", [hht_id]
    ).fetchall()
    assert [(r["id"], bytes(r["raw"])) for r in raw] == [
        (r["id"], bytes(r["raw"])) for r in fleet_raw
    ]
    before = fleet_snapshot(conn, hht_id)
    again = sync(van)
    assert again.events == 0 and again.jobs == 0
    assert fleet_snapshot(conn, hht_id) == before


def _cut_sender(cuts: dict[str, int]):  # type: ignore[no-untyped-def]
    """A FleetLink._send that, for chosen batches, sends only part of the request (then
    hangs up), or the whole request and loses the answer."""
    real = client_sync.FleetLink._send
    seen = {"batch": 0}

    def send(self, path, data, signature):  # type: ignore[no-untyped-def]
        if path != protocol.BATCH:
            return real(self, path, data, signature)
        seen["batch"] += 1
        how = cuts.get(str(seen["batch"]))
        if how is None:
            return real(self, path, data, signature)
        if how < 0:  # delivered whole, the answer lost
            real(self, path, data, signature)
            raise SyncError("connection lost before the answer")
        parts = urlsplit(self.base)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n{protocol.TERMINAL_HEADER}: "
            f"{self.terminal.terminal_id}\r\n{protocol.SIGNATURE_HEADER}: {signature}\r\n\r\n"
        ).encode()
        request = head + data
        with socket.create_connection((parts.hostname, parts.port)) as sock:
            sock.sendall(request[: len(head) + how])
        raise SyncError("connection cut")

    return send


@pytest.mark.parametrize(
    "cuts",
    [
        {"1": 0, "3": 1, "4": -1},  # cut after the headers, one byte in, answer lost
        {"2": 5000, "5": -1, "6": 20},  # cut inside the body, answer lost, cut early
    ],
)
def test_a_sync_cut_anywhere_and_repeated_leaves_no_gap_and_nothing_twice(
    make_hht, conn, monkeypatch, cuts
) -> None:
    monkeypatch.setattr(protocol, "EVENTS_PER_BATCH", 9)
    monkeypatch.setattr(protocol, "JOBS_PER_BATCH", 1)
    clean, cut = make_hht("clean"), make_hht("cut")
    sync(clean)
    monkeypatch.setattr(client_sync.FleetLink, "_send", _cut_sender(cuts))
    failures = 0
    for _ in range(20):
        try:
            sync(cut)
            break
        except SyncError:
            failures += 1
    assert failures == len(cuts)
    clean_id, cut_id = terminal_identity(clean).terminal_id, terminal_identity(cut).terminal_id
    a, b = fleet_snapshot(conn, clean_id), fleet_snapshot(conn, cut_id)
    for table in a:
        strip = lambda rows: [{k: v for k, v in r.items() if k != "hht_id"} for r in rows]  # noqa: E731
        assert strip(a[table]) == strip(b[table]), table
    assert len(b["events"]) == len({e["seq"] for e in b["events"]})
    receipts = conn.execute(
        "SELECT max(receipts) AS m FROM sync_batches WHERE hht_id = %s", [cut_id]
    ).fetchone()
    assert receipts["m"] >= 2  # a batch whose answer was lost came again, and added nothing


def _tamper(data_dir: Path, seq: int) -> None:
    db = sqlite3.connect(data_dir / "hht.sqlite")
    try:
        db.execute("DROP TRIGGER job_events_append_only_update")
        db.execute("UPDATE job_events SET message = 'nothing happened' WHERE seq = ?", [seq])
        db.commit()
    finally:
        db.close()


def test_an_edited_chain_is_refused_and_flagged(make_hht, conn, fleet_url, supervisor) -> None:
    van = make_hht("van-t")
    _tamper(van, 3)
    with pytest.raises(SyncError, match="chain is broken") as refused:
        sync(van)
    assert refused.value.status == 422
    hht_id = terminal_identity(van).terminal_id
    row = conn.execute(
        "SELECT chain_state, chain_problem, chain_seq FROM hhts WHERE id = %s", [hht_id]
    ).fetchone()
    assert row["chain_state"] == "broken" and "event 3" in row["chain_problem"]
    assert row["chain_seq"] == 0  # nothing of the refused batch was kept
    assert conn.execute("SELECT count(*) AS n FROM events").fetchone()["n"] == 0


def test_history_rewritten_after_a_sync_is_refused(make_hht, conn) -> None:
    van = make_hht("van-r")
    sync(van)
    db = sqlite3.connect(van / "hht.sqlite")
    try:  # an event the fleet holds, changed: the HHT must send it again to be caught
        db.execute("DROP TRIGGER job_events_append_only_update")
        db.execute("UPDATE job_events SET hash = ? WHERE seq = 2", ["ab" * 32])
        db.commit()
    finally:
        db.close()
    hht_id = terminal_identity(van).terminal_id
    held = conn.execute("SELECT chain_seq FROM hhts WHERE id = %s", [hht_id]).fetchone()
    conn.execute("UPDATE hhts SET chain_seq = 1 WHERE id = %s", [hht_id])  # as if it had less
    conn.execute("DELETE FROM events WHERE hht_id = %s AND seq > 1", [hht_id])
    conn.execute(
        "UPDATE hhts SET chain_link = (SELECT hash FROM events WHERE hht_id = %s AND seq = 1) "
        "WHERE id = %s",
        [hht_id, hht_id],
    )
    assert held["chain_seq"] > 2
    with pytest.raises(SyncError, match="broken"):
        sync(van)
    state = conn.execute("SELECT chain_state FROM hhts WHERE id = %s", [hht_id]).fetchone()
    assert state["chain_state"] == "broken"


def test_https_with_the_ca_the_hht_joined_with_and_refused_without(
    make_hht, conn, fleet_app, tmp_path
) -> None:
    import threading

    from werkzeug.serving import make_server

    from webapp.fleet.client.config import join
    from webapp.web.tls import init_tls

    # the terminal's own HTTPS authority issues the fleet's certificate for 127.0.0.1
    tls = init_tls(tmp_path / "fleet-tls", ["fleet-test"], ["127.0.0.1"])
    context = (tls.server_cert, tls.server_key)
    server = make_server("127.0.0.1", 0, fleet_app, threaded=True, ssl_context=context)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_port}"
    try:
        van = make_hht("van-tls")
        join(van, url)  # no CA: the fleet's certificate is not trusted
        with pytest.raises(SyncError, match="cannot be reached"):
            sync(van)
        join(van, url, tls.ca_cert)
        assert sync(van).batches >= 1
    finally:
        server.shutdown()
    hht_id = terminal_identity(van).terminal_id
    assert (
        conn.execute("SELECT chain_seq FROM hhts WHERE id = %s", [hht_id]).fetchone()["chain_seq"]
        == hht_rows(van, "SELECT max(seq) AS s FROM job_events")[0]["s"]
    )
