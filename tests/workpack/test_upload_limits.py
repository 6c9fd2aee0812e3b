"""An upload's size is bounded before it costs anything, each file is read once, and the
store's writer is never held while a pack is verified (issue 15, items 2 and 9)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.workpack.conftest import db_state, job_spec, pack_spec, reseal, unpack
from webapp.sim.packs import seal
from webapp.store.db import Store
from webapp.workpack import load
from webapp.workpack.archive import MAX_MEMBERS, write_archive
from webapp.workpack.errors import WorkPackError
from webapp.workpack.jsonlimits import loads_bounded, nesting_problem
from webapp.workpack.load import MAX_PROBLEMS_LISTED, NOT_READ, load_pack
from webapp.workpack.manifest import (
    FORMAT,
    MANIFEST_NAME,
    MAX_COMMAND_MENTIONS,
    MAX_DEVICE_SETS,
    MAX_JOBS,
    MAX_JSON_DEPTH,
    MAX_SERVICE_REQUESTS,
    SIGNATURE_NAME,
    parse_manifest,
)

DEEP = 100_000  # far past Python's recursion limit
HOSTILE_MENTIONS = 25_000  # the pack: one DUIS file named 25,000 times
UNDER_THE_CAP = 2_000


def _refused(store: Store, demo_dir, data: bytes, expected: str) -> list[str]:  # type: ignore[no-untyped-def]
    before = db_state(demo_dir)
    with pytest.raises(WorkPackError) as caught:
        load_pack(store, data, source="test", actor="test")
    assert db_state(demo_dir) == before, "a refused pack changed the database"
    assert any(expected in p for p in caught.value.problems), caught.value.problems
    return caught.value.problems


def _stored_zip(members: dict[str, bytes]) -> bytes:
    """A zip whose members are stored, not deflated (so no inflation ratio refuses them)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@dataclass
class Calls:
    """How often a function ran, and whether the store's writer was held each time."""

    under_writer: list[bool] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.under_writer)


class WriterWatch:
    """Instruments ``store.write``: whether some thread holds the writer now, and how often
    it was taken (independent of the Store's own bookkeeping)."""

    def __init__(self, store: Store) -> None:
        self.held = 0
        self.taken = 0
        real = store.write

        @contextmanager
        def watched() -> Iterator[Any]:
            with real() as db:
                self.held += 1
                self.taken += 1
                try:
                    yield db
                finally:
                    self.held -= 1

        store.write = watched  # type: ignore[method-assign]

    def count(self, monkeypatch: pytest.MonkeyPatch, name: str) -> Calls:
        """Count calls of ``webapp.workpack.load.<name>``, noting the writer each time."""
        calls = Calls()
        real: Callable[..., Any] = getattr(load, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls.under_writer.append(self.held > 0)
            return real(*args, **kwargs)

        monkeypatch.setattr(load, name, counted)
        return calls


# ---------------------------------------------------------------- nesting
def test_a_manifest_nested_far_too_deep_is_refused_naming_the_cap(store, demo_dir) -> None:
    nested = "[" * DEEP + "]" * DEEP
    manifest = f'{{"format": "{FORMAT}", "jobs": {nested}}}'.encode()
    data = _stored_zip({MANIFEST_NAME: manifest, SIGNATURE_NAME: b"AAAA\n"})
    problems = _refused(store, demo_dir, data, f"the limit is {MAX_JSON_DEPTH}")
    assert problems == [
        f"{MANIFEST_NAME} is refused: it nests deeper than {MAX_JSON_DEPTH} levels "
        f"(the limit is {MAX_JSON_DEPTH})"
    ]


@pytest.mark.parametrize(
    "text",
    ["[" * DEEP, "{" * DEEP, '{"a":' * DEEP, "[" * DEEP + "]" * (DEEP - 1)],
    ids=["unclosed-lists", "unclosed-objects", "unclosed-members", "one-short"],
)
def test_unbalanced_deep_text_is_refused_without_recursing(text: str) -> None:
    manifest, problems = parse_manifest(text.encode())
    assert manifest is None
    assert len(problems) == 1
    assert "brackets do not balance" in problems[0] or "nests deeper than" in problems[0]


def test_nesting_is_measured_on_structure_not_on_strings() -> None:
    cap = 3
    assert nesting_problem('[[["[[[[[[[[[[", "\\"[[[[[["]]]', cap) is None
    assert nesting_problem('{"a": {"b": {"c": "}}}}}}"}}}', cap) is None
    assert nesting_problem("[[[[]]]]", cap) == f"it nests deeper than {cap} levels"
    assert nesting_problem("[][][][]" * 1000, cap) is None
    assert loads_bounded(b'{"a": [1, {"b": 2}]}', cap) == {"a": [1, {"b": 2}]}
    with pytest.raises(ValueError, match="deeper than"):
        loads_bounded(b'{"a": [1, {"b": []}]}', cap)


def test_a_real_manifest_fits_well_inside_the_depth_cap(build) -> None:
    _, manifest = unpack(build(pack_spec(job_spec("N1", "1 Nest Road"))).data())
    text = json.dumps(manifest)
    assert nesting_problem(text, MAX_JSON_DEPTH // 2) is None


# ---------------------------------------------------------------- caps
def _manifest_with(jobs: list[dict[str, Any]]) -> bytes:
    return json.dumps({"format": FORMAT, "pack_id": "CAP", "jobs": jobs}).encode()


@pytest.mark.parametrize(
    ("jobs", "expected"),
    [
        ([{}] * (MAX_JOBS + 1), f"{MAX_JOBS + 1} jobs; the limit is {MAX_JOBS}"),
        (
            [{"service_requests": [{}] * (MAX_SERVICE_REQUESTS + 1)}],
            f"{MAX_SERVICE_REQUESTS + 1} service requests; the limit is {MAX_SERVICE_REQUESTS}",
        ),
        (
            [{"device_sets": [{}] * (MAX_DEVICE_SETS + 1)}],
            f"{MAX_DEVICE_SETS + 1} device sets; the limit is {MAX_DEVICE_SETS}",
        ),
        (
            [{"device_sets": [{"commands": [["duis/a.xml"] * (MAX_COMMAND_MENTIONS + 1)]}]}],
            f"{MAX_COMMAND_MENTIONS + 1} command files named; the limit is {MAX_COMMAND_MENTIONS}",
        ),
    ],
    ids=["jobs", "service-requests", "device-sets", "command-mentions"],
)
def test_every_count_in_a_manifest_has_a_cap(jobs: list[dict[str, Any]], expected: str) -> None:
    manifest, problems = parse_manifest(_manifest_with(jobs))
    assert manifest is None
    assert problems == [f"{MANIFEST_NAME}: {expected}"]


def test_the_mention_cap_is_the_file_cap() -> None:
    """A command file carries one command, named once: a good pack cannot name more."""
    assert MAX_COMMAND_MENTIONS == MAX_MEMBERS


def _naming_one_file(build, times: int):  # type: ignore[no-untyped-def]
    """A pack signed by the trusted supplier whose manifest names its first DUIS file
    ``times`` times (the issue's hostile pack, but signed, so it gets past the signature;
    stored, not deflated, so no inflation ratio refuses it first)."""
    built = build(pack_spec(job_spec("H1", "1 Hostile Road", steps=["CCS01_ESME"])))
    members, manifest = unpack(built.data())
    commands = manifest["jobs"][0]["device_sets"][0]["commands"]
    name = commands[0][0]
    commands[0] = [name] * times
    content = {k: v for k, v in members.items() if k not in (MANIFEST_NAME, SIGNATURE_NAME)}
    unsigned = {k: v for k, v in manifest.items() if k != "files"}
    return _stored_zip(seal(content, unsigned, built.supplier.private_key)), name


def test_naming_one_file_25000_times_is_refused_by_the_cap_reading_it_at_most_once(
    store, build, demo_dir, monkeypatch
) -> None:
    data, _ = _naming_one_file(build, HOSTILE_MENTIONS)
    parses = WriterWatch(store).count(monkeypatch, "parse_local_command")
    problems = _refused(
        store,
        demo_dir,
        data,
        f"{HOSTILE_MENTIONS} command files named; the limit is {MAX_COMMAND_MENTIONS}",
    )
    assert parses.count <= 1
    assert len(problems) == 1


def test_a_file_named_many_times_is_read_once_and_named_once(
    store, build, demo_dir, monkeypatch
) -> None:
    data, name = _naming_one_file(build, UNDER_THE_CAP)
    parses = WriterWatch(store).count(monkeypatch, "parse_local_command")
    problems = _refused(store, demo_dir, data, f"{name} is named {UNDER_THE_CAP} times")
    assert parses.count == 1
    assert len(problems) <= MAX_PROBLEMS_LISTED + 1
    assert problems[-1].endswith("more problems")


def test_an_unsigned_pack_has_its_command_files_left_unread(
    store, build, demo_dir, monkeypatch
) -> None:
    built = build(pack_spec(job_spec("U1", "1 Unsigned Road")))
    members, _ = unpack(built.data())
    members[SIGNATURE_NAME] = b"AAAA\n"
    parses = WriterWatch(store).count(monkeypatch, "parse_local_command")
    problems = _refused(store, demo_dir, write_archive(members), "bad signature")
    assert problems[-1] == NOT_READ
    assert parses.count == 0


# ---------------------------------------------------------------- the writer
VERIFYING_STEPS = ("read_archive", "parse_manifest", "verify_detached", "parse_local_command")


def test_the_writer_is_not_held_while_a_pack_is_verified(store, build, monkeypatch) -> None:
    built = build(pack_spec(job_spec("V1", "1 Verify Road"), job_spec("V2", "2 Verify Road")))
    watch = WriterWatch(store)
    steps = {name: watch.count(monkeypatch, name) for name in VERIFYING_STEPS}
    result = load_pack(store, built.data(), source="t", actor="t")
    assert result.job_ids == ["V1", "V2"]
    for name, calls in steps.items():
        assert calls.count >= 1, name
        assert not any(calls.under_writer), f"{name} ran while the store's writer was held"
    assert steps["parse_local_command"].count == result.commands  # each file read once
    assert watch.taken == 1  # one transaction writes the whole pack


def test_a_refused_pack_never_takes_the_writer(store, build, demo_dir) -> None:
    built = build(pack_spec(job_spec("W1", "1 Writer Road")))
    members, manifest = unpack(built.data())
    manifest["jobs"][0]["appointment"] = "soon"
    watch = WriterWatch(store)
    _refused(store, demo_dir, reseal(built, members, manifest), "is not a date")
    assert watch.taken == 0


def test_a_job_loaded_while_a_pack_was_verified_is_caught_in_the_transaction(
    store, build, demo_dir, monkeypatch
) -> None:
    """The database may change between verifying and writing: the transaction checks
    again, and a pack whose job was loaded meanwhile is refused whole."""
    first = build(pack_spec(job_spec("R1", "1 Race Road"), pack_id="RACE-A"))
    second = build(pack_spec(job_spec("R1", "1 Race Road"), pack_id="RACE-B"))
    real_verify = load.verify_pack

    def verify_then_race(*args: Any, **kwargs: Any) -> Any:
        verified = real_verify(*args, **kwargs)
        monkeypatch.setattr(load, "verify_pack", real_verify)
        load_pack(store, first.data(), source="meanwhile", actor="t")
        return verified

    monkeypatch.setattr(load, "verify_pack", verify_then_race)
    with pytest.raises(WorkPackError) as caught:
        load_pack(store, second.data(), source="t", actor="t")
    assert any("job R1: already loaded" in p for p in caught.value.problems)
    db = store.reader()
    assert [r["pack_id"] for r in db.query("SELECT pack_id FROM work_packs")].count("RACE-B") == 0
