"""Untrusted packs and XML: whatever arrives is refused by name, never crashes, writes nothing."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.workpack.conftest import db_state, job_spec, pack_spec, reseal, unpack
from webapp.duis import DuisError, parse_local_command, parse_request
from webapp.workpack.archive import read_archive
from webapp.workpack.errors import WorkPackError
from webapp.workpack.load import load_pack
from webapp.workpack.manifest import parse_manifest

EXAMPLES = 150
FAST = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FAST
@given(st.binary(max_size=4096))
def test_junk_bytes_are_refused_cleanly(data: bytes) -> None:
    try:
        read_archive(data)
    except WorkPackError as exc:
        assert exc.problems
    manifest, problems = parse_manifest(data)
    assert manifest is None or isinstance(problems, list)
    for reader in (parse_local_command, parse_request):
        try:
            reader(data)
        except DuisError as exc:
            assert str(exc)


XML_PIECES = st.sampled_from(
    [
        b"<sr:Response>",
        b"</sr:Response>",
        b"<sr:Header>",
        b"</sr:Header>",
        b"<sr:RequestID>",
        b"</sr:RequestID>",
        b"<sr:LocalCommand>",
        b"<sr:GBCSPayload>AAEC</sr:GBCSPayload>",
        b"</sr:LocalCommand>",
        b"&amp;",
        b"<![CDATA[x]]>",
        b"<!--c-->",
        b"\x00",
        b"\xff",
        b"<",
        b">",
        b' xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"',
        b"<?xml?>",
    ]
)


@FAST
@given(st.lists(XML_PIECES, max_size=30))
def test_xml_fragments_raise_only_duis_errors(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    for reader in (parse_local_command, parse_request):
        with contextlib.suppress(DuisError):
            reader(data)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["id", "mpxn", "appointment", "device_sets", "service_requests", "assignee"]),
    st.one_of(
        st.none(),
        st.integers(),
        st.text(max_size=20),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    ),
)
def test_mangled_signed_manifests_are_refused_and_write_nothing(
    store, build, demo_dir, field: str, value: object
) -> None:
    built = _pack_once(build)
    members, manifest = unpack(built.data())
    manifest["jobs"][0][field] = value
    data = reseal(built, members, manifest)
    before = db_state(demo_dir)
    try:
        load_pack(store, data, source="fuzz", actor="fuzz")
    except WorkPackError as exc:
        assert exc.problems
        assert db_state(demo_dir) == before
    else:  # a harmless value (a different assignee is not harmless: it must exist)
        assert field in ("id", "mpxn", "appointment", "assignee")
        with store.write() as db:  # undo, so the next example starts clean
            _forget(db, manifest)


_built: dict = {}


def _pack_once(build):  # type: ignore[no-untyped-def]
    if "pack" not in _built:
        _built["pack"] = build(pack_spec(job_spec("HZ1", "1 Hostile Road")))
    return _built["pack"]


def _forget(db, manifest: dict) -> None:  # type: ignore[no-untyped-def]
    job_id = manifest["jobs"][0]["id"]
    db.execute("DROP TRIGGER IF EXISTS job_events_append_only_delete")
    for table in ("commands", "service_requests", "device_sets", "job_events"):
        db.execute(f"DELETE FROM {table} WHERE job_id = ?", [job_id])
    db.execute("DELETE FROM jobs WHERE id = ?", [job_id])
    db.execute("DELETE FROM work_packs WHERE pack_id = ?", [manifest["pack_id"]])


def test_a_zip_with_a_json_manifest_bomb_is_refused(store, demo_dir) -> None:
    out = io.BytesIO()
    nested: object = []
    for _ in range(200):
        nested = [nested]
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("manifest.json", json.dumps({"format": "hht-workpack/1", "jobs": nested}))
        z.writestr("manifest.sig", b"AAAA")
    before = db_state(demo_dir)
    try:
        load_pack(store, out.getvalue(), source="t", actor="t")
    except WorkPackError as exc:
        assert exc.problems
    assert db_state(demo_dir) == before
