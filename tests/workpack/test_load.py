"""Loading a pack: everything verified first; a refusal names every problem and writes nothing."""

from __future__ import annotations

import base64
import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import closed_out
from tests.workpack.conftest import db_state, job_spec, pack_spec, reseal, unpack
from webapp.workpack.archive import MAX_MEMBER_BYTES, MAX_MEMBERS, write_archive
from webapp.workpack.errors import WorkPackError
from webapp.workpack.load import load_pack


def _refused(store, demo_dir, data: bytes, expected: str, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
    before = db_state(demo_dir)
    with pytest.raises(WorkPackError) as caught:
        load_pack(store, data, source="test", actor="test", **kwargs)
    assert db_state(demo_dir) == before, "a refused pack changed the database"
    assert any(expected in p for p in caught.value.problems), caught.value.problems
    return caught.value.problems


def test_a_good_pack_loads_jobs_sets_and_commands(store, build) -> None:
    built = build(pack_spec(job_spec("L1", "1 Load Road"), job_spec("L2", "2 Load Road")))
    result = load_pack(store, built.data(), source="t.zip", actor="test")
    assert result.job_ids == ["L1", "L2"]
    assert result.commands == 6
    db = store.reader()
    pack = db["work_packs"].get(result.work_pack_id)
    assert pack["pack_id"] == result.pack_id and pack["jobs"] == 2
    commands = list(db.query("SELECT * FROM commands WHERE job_id = 'L1' ORDER BY seq"))
    assert [c["use_case"] for c in commands] == ["CCS01", "ECS70", "ECS17b"]
    assert all(c["duis_request_id"].count(":") == 2 for c in commands)
    sets = list(db.query("SELECT * FROM device_sets WHERE job_id = 'L1'"))
    assert len(sets) == 1 and db["jobs"].get("L1")["device_set_id"] == sets[0]["id"]


def test_raw_gbcs_packs_load_too(store, build) -> None:
    built = build(pack_spec(job_spec("R1", "1 Raw Road")), raw_gbcs=True)
    members, _ = unpack(built.data())
    assert any(n.startswith("gbcs/") for n in members)
    assert load_pack(store, built.data(), source="t", actor="t").commands == 3


def test_bad_signature(store, build, demo_dir) -> None:
    built = build(pack_spec(job_spec("S1", "1 Sig Road")))
    members, _ = unpack(built.data())
    members["manifest.sig"] = base64.b64encode(b"\x30\x06\x02\x01\x01\x02\x01\x01") + b"\n"
    _refused(store, demo_dir, write_archive(members), "bad signature")


def test_tampered_file_is_named(store, build, demo_dir) -> None:
    built = build(pack_spec(job_spec("T1", "1 Tamper Road")))
    members, manifest = unpack(built.data())
    name = manifest["jobs"][0]["device_sets"][0]["commands"][1][0]
    members[name] = members[name].replace(b"<sr:ResponseCode>I0", b"<sr:ResponseCode>I0 ")
    _refused(store, demo_dir, write_archive(members), f"{name}: its SHA-256 is not the one")


def test_unknown_supplier(store, build, demo_dir) -> None:
    built = build(pack_spec(job_spec("U1", "1 Unknown Road")))
    with store.write() as db:
        db.execute("UPDATE suppliers SET certificate_pem = NULL")
    _refused(store, demo_dir, built.data(), "which this HHT does not trust")


def test_expired_certificate(store, build, demo_dir) -> None:
    built = build(pack_spec(job_spec("E1", "1 Expired Road")))
    later = datetime.now(UTC) + timedelta(days=365 * 20)
    _refused(store, demo_dir, built.data(), "certificate expired on", now=later)


def test_duis_without_local_command(store, build, demo_dir) -> None:
    built = build(pack_spec(job_spec("D1", "1 Duis Road")))
    members, manifest = unpack(built.data())
    name = manifest["jobs"][0]["device_sets"][0]["commands"][0][0]
    members[name] = (
        members[name].replace(b"<sr:LocalCommand>", b"").replace(b"</sr:LocalCommand>", b"")
    )
    _refused(store, demo_dir, reseal(built, members, manifest), "no sr:Response/sr:Body/sr:")


def test_duis_with_an_entity_bomb(store, build, demo_dir) -> None:
    built = build(pack_spec(job_spec("D2", "2 Duis Road")))
    members, manifest = unpack(built.data())
    name = manifest["jobs"][0]["device_sets"][0]["commands"][0][0]
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
    members[name] = bomb + members[name].split(b"?>", 1)[1]
    _refused(store, demo_dir, reseal(built, members, manifest), "DOCTYPE or entity")


def test_duis_request_id_must_name_the_command(store, build, demo_dir) -> None:
    built = build(pack_spec(job_spec("D3", "3 Duis Road")))
    members, manifest = unpack(built.data())
    name = manifest["jobs"][0]["device_sets"][0]["commands"][0][0]
    text = members[name].decode()
    start = text.index("<sr:RequestID>") + len("<sr:RequestID>")
    end = text.index("</sr:RequestID>")
    members[name] = (text[:start] + text[start:end].rsplit(":", 1)[0] + ":1" + text[end:]).encode()
    _refused(store, demo_dir, reseal(built, members, manifest), "does not name the GBCS command")


def test_recipient_not_in_its_device_set(store, build, demo_dir) -> None:
    built = build(pack_spec(job_spec("N1", "1 Set Road")))
    members, manifest = unpack(built.data())
    manifest["jobs"][0]["device_sets"][0]["devices"]["esme"] = "70B3D5FFFFFFFFFF"
    _refused(store, demo_dir, reseal(built, members, manifest), "is not in its device set")


def test_a_response_is_not_a_command(store, build, demo_dir) -> None:
    from webapp.gbcs.header import Cra, GroupingHeader, OtherInfo
    from webapp.gbcs.message import build_general_signing

    built = build(pack_spec(job_spec("C1", "1 Cmd Road")), raw_gbcs=True)
    members, manifest = unpack(built.data())
    name = manifest["jobs"][0]["device_sets"][0]["commands"][0][0]
    header = GroupingHeader(
        cra=Cra.RESPONSE,
        counter=5,
        originator=bytes.fromhex(manifest["jobs"][0]["device_sets"][0]["devices"]["chf"]),
        recipient=bytes.fromhex("90B3D51F30DE0001"),
        date_time=None,
        other_info=OtherInfo(message_code=0x0001),
    )
    members[name] = build_general_signing(header, b"", None).hex().encode()
    _refused(store, demo_dir, reseal(built, members, manifest), "not a command")


def test_counter_already_seen(store, build, demo_dir) -> None:
    spec = pack_spec(job_spec("K1", "1 Counter Road"))
    load_pack(store, build(spec).data(), source="t", actor="t")
    again = dict(spec, pack_id="TEST-again", jobs=[dict(spec["jobs"][0], id="K2")])
    _refused(store, demo_dir, build(again).data(), "was already seen")


def test_duplicate_job_ids(store, build, demo_dir) -> None:
    built = build(pack_spec(job_spec("Q1", "1 Dup Road"), job_spec("Q1", "2 Dup Road")))
    _refused(store, demo_dir, built.data(), "job Q1: the job id appears twice")


def test_job_already_loaded_and_pack_already_loaded(store, build, demo_dir) -> None:
    built = build(pack_spec(job_spec("A1", "1 Again Road")))
    load_pack(store, built.data(), source="t", actor="t")
    problems = _refused(store, demo_dir, built.data(), "job A1: already loaded")
    assert any("was already loaded" in p for p in problems)


def test_every_problem_is_listed_at_once(store, build, demo_dir) -> None:
    built = build(pack_spec(job_spec("M1", "1 Many Road"), job_spec("M1", "2 Many Road")))
    members, manifest = unpack(built.data())
    manifest["jobs"][1]["device_sets"][0]["devices"]["esme"] = "70B3D5FFFFFFFFFF"
    manifest["jobs"][0]["appointment"] = "tomorrow"
    problems = _refused(store, demo_dir, reseal(built, members, manifest), "appears twice")
    assert any("is not a date" in p for p in problems)
    assert any("is not in its device set" in p for p in problems)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("../evil.xml", "not an allowed name"), ("/etc/passwd", "not an allowed name")],
)
def test_archive_paths(store, build, demo_dir, name: str, expected: str) -> None:
    members, _ = unpack(build(pack_spec(job_spec("P1", "1 Path Road"))).data())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, d in members.items():
            z.writestr(n, d)
        z.writestr(name, b"x")
    _refused(store, demo_dir, out.getvalue(), expected)


def test_archive_limits(store, demo_dir) -> None:
    big = io.BytesIO()
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("duis/big.xml", b"\0" * (MAX_MEMBER_BYTES + 1))
    _refused(store, demo_dir, big.getvalue(), "the limit is")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("duis/bomb.xml", b"\0" * (MAX_MEMBER_BYTES - 10))
    _refused(store, demo_dir, bomb.getvalue(), "inflates")
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as z:
        for k in range(MAX_MEMBERS + 1):
            z.writestr(f"duis/{k}.xml", b"")
    _refused(store, demo_dir, many.getvalue(), f"the limit is {MAX_MEMBERS}")
    _refused(store, demo_dir, b"not a zip at all", "is not a zip file")


def test_file_not_in_the_manifest(store, build, demo_dir) -> None:
    members, _ = unpack(build(pack_spec(job_spec("F1", "1 File Road"))).data())
    members["duis/extra.xml"] = b"<x/>"
    _refused(store, demo_dir, write_archive(members), "duis/extra.xml: in the pack but not")


def test_another_suppliers_waiting_answers_warn_first(store, build, demo_dir) -> None:
    from webapp.workpack.load import OtherSupplierWaiting

    with store.write() as db:
        db["suppliers"].insert({"eui": "90B3D51F30AA0002", "name": "Other Energy"})
        db["jobs"].insert(
            {
                "id": "OLD1",
                "site": "x",
                "mpxn": "1",
                "supplier_eui": "90B3D51F30AA0002",
                "status": "completed",
                "expected_hub_id": "00DB000000000001",
                "connected_hub_id": "00DB000000000001",
                "finished_at": "2026-11-20T10:00:00+00:00",
                "hub_install": closed_out(),
            }
        )
    built = build(pack_spec(job_spec("W1", "1 Warn Road")))
    before = db_state(demo_dir)
    with pytest.raises(OtherSupplierWaiting) as caught:
        load_pack(store, built.data(), source="t", actor="t")
    assert "Other Energy" in str(caught.value) and "unload them first" in str(caught.value)
    assert db_state(demo_dir) == before
    assert load_pack(
        store, built.data(), source="t", actor="t", accept_other_supplier=True
    ).job_ids == ["W1"]
