"""Every unload carries the terminal's audit chain head, signed with its identity key, and
the chain the back office needs to tie the unloaded jobs' events to it.  The back office's
side is done here with cryptography and hashlib alone, as it would be."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import closed_out
from tests.workpack.conftest import job_spec, pack_spec
from webapp.cli.run_job import run_job_headless
from webapp.identity import terminal_identity
from webapp.store.audit import chain as audit_chain
from webapp.store.audit.heads import RecordedHead, write_head_file
from webapp.store.audit.key import load_key
from webapp.store.audit.verify import verify_all
from webapp.store.db import DB_FILENAME
from webapp.store.events import append_event
from webapp.workpack.load import load_pack
from webapp.workpack.unload import confirm_received, make_unload

SUPPLIER = "90B3D51F30DE0001"
FAST = 1000.0
ZERO = "0" * 64


def _canonical(value: dict) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _open(path: Path) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    return json.loads(files["manifest.json"]), files


def head_signature_ok(head: dict, signature: str, certificate_pem: bytes) -> bool:
    """What the back office does with a head: check it with the terminal's certificate."""
    key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    try:
        key.verify(base64.b64decode(signature), _canonical(head), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def check_chain(audit: dict, chain_file: bytes) -> list[dict]:
    """The back office's check of the chain file: every link recomputed, the segment running
    unbroken from the head it holds (``since``) to the signed head; the lines returned."""
    lines = [json.loads(line) for line in chain_file.decode().splitlines()]
    since, head = audit["since"], audit["head"]
    for line in lines:
        assert (
            line["link"]
            == hashlib.sha256(
                bytes.fromhex(line["prev"]) + bytes.fromhex(line["digest"])
            ).hexdigest()
        ), line
        if "record" in line:
            assert hashlib.sha256(line["record"].encode()).hexdigest() == line["digest"]
            assert json.loads(line["record"])[1] == line["seq"]  # the record holds its sequence
    segment = [line for line in lines if line["seq"] > since["seq"]]
    assert [line["seq"] for line in segment] == list(range(since["seq"] + 1, head["seq"] + 1))
    prev = since["link"]
    for line in segment:
        assert line["prev"] == prev, f"event {line['seq']} does not follow the head before it"
        prev = line["link"]
    assert prev == head["link"]
    return lines


@pytest.fixture
def ran(store, build, demo_dir):  # type: ignore[no-untyped-def]
    spec = pack_spec(
        job_spec("AU1", "1 Audit Road", ["CCS01_ESME", "ECS17b"]),
        job_spec("AU2", "2 Audit Road", ["CCS01_ESME"]),
    )
    load_pack(store, build(spec).data(), source="t", actor="test")
    for job_id in ("AU1", "AU2"):
        assert asyncio.run(run_job_headless(demo_dir, job_id, FAST))["status"] == "completed"
        with store.write() as db:
            db["jobs"].update(job_id, {"hub_install": closed_out()})
    return store


def _unload(store, demo_dir: Path):  # type: ignore[no-untyped-def]
    return make_unload(store, SUPPLIER, terminal_identity(demo_dir), actor="test")


def test_an_unload_carries_a_signed_head_that_verifies_with_the_terminal_certificate(
    ran, demo_dir
) -> None:
    unload = _unload(ran, demo_dir)
    manifest, files = _open(unload.path)
    audit = manifest["audit"]
    head, signature = audit["head"], audit["head_signature"]
    newest = ran.reader().execute("SELECT max(seq), hash FROM job_events").fetchone()
    assert (head["seq"], head["link"]) == (newest[0], newest[1])
    identity = terminal_identity(demo_dir)
    assert head["terminal"] == identity.terminal_id and head["fingerprint"] == identity.fingerprint
    assert head["unload_id"] == unload.id and head["supplier"] == SUPPLIER
    assert head_signature_ok(head, signature, files["terminal.pem"])
    for field, value in (("seq", head["seq"] - 1), ("link", "ab" * 32), ("supplier", "X")):
        assert not head_signature_ok({**head, field: value}, signature, files["terminal.pem"])
    forged = base64.b64encode(b"\x30\x06\x02\x01\x01\x02\x01\x01").decode()
    assert not head_signature_ok(head, forged, files["terminal.pem"])
    # the manifest's own signature covers the chain file through its digest
    assert hashlib.sha256(files[audit["events_file"]]).hexdigest() == audit["events_sha256"]
    assert audit["terminal_check"] == {"intact": True, "broken": None}


def test_the_back_office_ties_every_unloaded_job_event_to_the_signed_head(ran, demo_dir) -> None:
    unload = _unload(ran, demo_dir)
    manifest, files = _open(unload.path)
    audit = manifest["audit"]
    assert audit["since"]["seq"] == 0 and audit["since"]["link"] == ZERO  # the first unload
    lines = check_chain(audit, files[audit["events_file"]])
    assert set(audit["jobs"]) == {"AU1", "AU2"}
    with_records = {line["seq"]: json.loads(line["record"]) for line in lines if "record" in line}
    db = ran.reader()
    for job_id in audit["jobs"]:
        for row in db.query("SELECT * FROM job_events WHERE job_id = ?", [job_id]):
            record = with_records[row["seq"]]
            assert record[2] == job_id and record[7] == row["actor"]  # every column, as stored
            assert record[8:] == [
                row["time_source"],
                row["time_uncertainty_s"],
                row["time_offset_s"],
            ]
    other_jobs = {r[2] for r in with_records.values()} - set(audit["jobs"]) - {None}
    assert not other_jobs  # other jobs' events go as digests only


def test_changes_to_users_reach_a_supplier_as_digests_only(ran, demo_dir) -> None:
    from webapp.auth.users import INSTALLER, USER_EVENT_KINDS, add_user, set_disabled

    with ran.write() as db:
        add_user(db, "newcomer", INSTALLER, "135790", actor="sam")
        set_disabled(db, "newcomer", True, actor="sam")
    manifest, files = _open(_unload(ran, demo_dir).path)
    lines = check_chain(manifest["audit"], files[manifest["audit"]["events_file"]])
    kinds = dict(ran.reader().execute("SELECT seq, kind FROM job_events").fetchall())
    user_events = [line for line in lines if kinds[line["seq"]] in USER_EVENT_KINDS]
    assert len(user_events) >= 2  # the demo's users, then these two
    assert all("record" not in line for line in user_events)
    assert b"newcomer" not in files[manifest["audit"]["events_file"]]
    # the terminal's other events (the chain's start) still go whole
    assert any(line.get("record") and json.loads(line["record"])[2] is None for line in lines)


def test_the_next_unload_follows_the_last_confirmed_one(ran, demo_dir) -> None:
    first = _unload(ran, demo_dir)
    first_head = _open(first.path)[0]["audit"]["head"]
    with ran.write() as db:
        confirm_received(db, first.id, "test")
    spec = pack_spec(job_spec("AU3", "3 Audit Road", ["CCS01_ESME"]))
    from webapp.sim.packs import build_pack

    load_pack(ran, build_pack(spec, demo_dir).data(), source="t", actor="test")
    assert asyncio.run(run_job_headless(demo_dir, "AU3", FAST))["status"] == "completed"
    second = _unload(ran, demo_dir)
    manifest, files = _open(second.path)
    audit = manifest["audit"]
    assert audit["since"]["seq"] == first_head["seq"]
    assert audit["since"]["link"] == first_head["link"]
    assert audit["jobs"] == ["AU3"]
    check_chain(audit, files[audit["events_file"]])


def test_history_rewritten_with_the_key_after_an_unload_no_longer_follows_its_head(
    ran, demo_dir
) -> None:
    """An insider with root and the key rewrites an unloaded event and recomputes the whole
    chain (links, MACs, head row, recorded heads): the terminal's own check passes, but the
    next unload does not follow the head the back office already holds."""
    first = _unload(ran, demo_dir)
    first_audit = _open(first.path)[0]["audit"]
    with ran.write() as db:
        confirm_received(db, first.id, "test")
    key = load_key(demo_dir)
    conn = sqlite3.connect(demo_dir / DB_FILENAME, isolation_level=None)
    for trigger in ("job_events_append_only_update", "audit_heads_append_only_update"):
        conn.execute(f"DROP TRIGGER {trigger}")
    columns = ", ".join(audit_chain.RECORD_COLUMNS)
    target = conn.execute(
        "SELECT min(seq) FROM job_events WHERE job_id = 'AU1' AND kind = 'status'"
    ).fetchone()[0]
    conn.execute("UPDATE job_events SET message = 'rewritten' WHERE seq = ?", [target])
    prev = conn.execute("SELECT prev_hash FROM job_events WHERE seq = ?", [target]).fetchone()[0]
    links = {}
    for row in conn.execute(
        f"SELECT {columns} FROM job_events WHERE seq >= ? ORDER BY seq", [target]
    ).fetchall():
        sealed = audit_chain.seal(
            dict(zip(audit_chain.RECORD_COLUMNS, row, strict=True)), prev, key
        )
        conn.execute(
            "UPDATE job_events SET prev_hash = ?, hash = ?, mac = ? WHERE seq = ?",
            [sealed["prev_hash"], sealed["hash"], sealed["mac"], row[1]],
        )
        prev = links[row[1]] = sealed["hash"]
    last = max(links)
    conn.execute(
        "UPDATE audit_head SET link = ?, mac = ?",
        [links[last], audit_chain.head_mac(key, last, links[last])],
    )
    for head_id, seq in conn.execute("SELECT id, seq FROM audit_heads").fetchall():
        if seq in links:
            conn.execute(
                "UPDATE audit_heads SET link = ?, mac = ? WHERE id = ?",
                [links[seq], audit_chain.head_mac(key, seq, links[seq]), head_id],
            )
    conn.execute("UPDATE audit_state SET verified_link = NULL, verified_seq = NULL")
    conn.close()
    write_head_file(  # and the head file, as root can
        demo_dir,
        RecordedHead(
            last,
            links[last],
            audit_chain.head_mac(key, last, links[last]),
            "now",
            "verify",
            "the head file",
        ),
    )
    assert verify_all(ran.reader(), key, demo_dir).intact  # the terminal alone cannot tell
    with ran.write() as db:  # the terminal goes on: an event, and something to unload again
        append_event(db, "AU2", "note", "the supervisor looked at the job")
        db.execute("UPDATE jobs SET hub_status_unload_id = NULL WHERE id = 'AU2'")
    second = _unload(ran, demo_dir)
    manifest, files = _open(second.path)
    audit = manifest["audit"]
    assert head_signature_ok(audit["head"], audit["head_signature"], files["terminal.pem"])
    assert audit["since"]["seq"] == first_audit["head"]["seq"]
    # the since link the terminal sends is the rewritten one; the back office compares with
    # the head it received and kept from the first unload
    with pytest.raises(AssertionError, match="does not follow the head before it"):
        check_chain({**audit, "since": first_audit["head"]}, files[audit["events_file"]])
