"""Every command the demo builds, and every answer the simulated devices give to it, reads
in full: each payload byte under a named field of its use case's structure."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from webapp.gbcs.describe import describe
from webapp.gbcs.gbz import build_gbz, parse_gbz
from webapp.gbcs.header import Cra
from webapp.gbcs.message import parse_message
from webapp.gbcs.payload import payload_encoding
from webapp.sim.catalogue import STEPS
from webapp.sim.command_payloads import CommandContext, set_gas_tariff
from webapp.sim.dcc import cluster_command_payload
from webapp.sim.han.han import SimHan
from webapp.sim.han.scenario import SiteInfo
from webapp.sim.pki import Identity, TestPki

from .demo_messages import BUILT_AT, answer_of, demo_commands, payload_node, reading_problems

#: The payload encoding GBCS gives each demo use case.
ENCODINGS = {
    "CCS01": "dlms",
    "ECS70": "dlms",
    "CS03A1": "asn1",
    "ECS01a": "dlms",
    "ECS17b": "dlms",
    "ECS52": "dlms",
    "GCS28": "asn1",
    "CS03B": "asn1",
    "GCS01a": "gbz",
    "CCS02": "dlms",
    "CS04AC": "asn1",
    "ECS35a": "dlms",
    "ECS35b": "dlms",
}


@pytest.fixture
def demo_supplier(tmp_path: Path) -> Identity:
    return TestPki.load_or_create(tmp_path / "pki").issue("90B3D51F30010000", "ds")


@pytest.fixture
def exchanges(
    han: SimHan, site: SiteInfo, demo_supplier: Identity
) -> list[tuple[str, bytes, bytes]]:
    """(use case, command, the device's response) for every step of the catalogue."""
    return [
        (step.use_case, raw, answer_of(han, site, raw))
        for step, raw in demo_commands(han, site, demo_supplier)
    ]


def test_every_step_is_built(exchanges) -> None:
    assert len(exchanges) == len(STEPS)
    assert {use_case for use_case, _, _ in exchanges} == set(ENCODINGS)


def test_commands_carry_their_use_cases_encoding(exchanges) -> None:
    for use_case, command, _ in exchanges:
        assert payload_encoding(parse_message(command)) == ENCODINGS[use_case], use_case


def test_every_command_reads_in_full(exchanges) -> None:
    problems = {use_case: reading_problems(command) for use_case, command, _ in exchanges}
    assert problems == {use_case: [] for use_case in problems}


def test_every_answer_reads_in_full_and_succeeds(exchanges) -> None:
    for use_case, command, response in exchanges:
        described = describe(response)
        assert parse_message(response).cra is Cra.RESPONSE
        assert described["use_case"] == use_case
        assert described["outcome"]["status"] == "success", (use_case, described["outcome"])
        assert reading_problems(response) == [], use_case
        assert payload_encoding(parse_message(response)) == payload_encoding(
            parse_message(command)
        ), use_case


def test_answers_follow_the_commands_items(exchanges) -> None:
    """A DLMS answer has one result per request item; a GBZ answer one component per
    component; and the protected register read comes back withheld, not in clear."""
    by_use_case = {use_case: (command, response) for use_case, command, response in exchanges}
    for use_case in ("CCS01", "ECS70", "ECS01a", "ECS17b", "ECS52"):
        command, response = by_use_case[use_case]
        requested = _count(command, "Access Request Specifications")
        assert requested >= 1
        assert _count(response, "Access Response Specifications") == requested, use_case
        assert _count(response, "List of Data") == requested, use_case
    command, response = by_use_case["GCS01a"]
    assert _components(response) == _components(command) > 1
    withheld = describe(by_use_case["ECS17b"][1])["withheld"]
    assert [w["name"] for w in withheld] == ["Protected Attributes (ciphered)"]


def _count(raw: bytes, name: str) -> int:
    for node in describe(raw)["tree"]:
        stack = [node]
        while stack:
            current = stack.pop()
            if current["name"] == name:
                return len(current["children"])
            stack.extend(current["children"])
    raise AssertionError(f"no {name}")


def _components(raw: bytes) -> int:
    children = payload_node(describe(raw))["children"]
    return sum(1 for node in children if node["name"].startswith("GBZ Component"))


def test_the_reading_finds_what_is_left_unread(han, site, command) -> None:
    """The check itself: trailing bytes after a known command, an unknown cluster command
    and a join that is not a Join Device Command are each reported."""
    tariff = set_gas_tariff(CommandContext(BUILT_AT, 1, "90B3D51F30010000", site.gsme_id, {}))
    junk_after = command(site.esme_id, 1, 0x006B, tariff + b"\xee")
    (*_, information, _) = parse_gbz(tariff)
    longer = replace(
        information, zcl=replace(information.zcl, payload=information.zcl.payload + b"\xee")
    )
    junk_inside = command(site.esme_id, 5, 0x006B, build_gbz([longer]))
    unknown = command(site.esme_id, 2, 0x006B, cluster_command_payload(0x0700, 0x7F, b"\x01\x02"))
    not_a_join = command(site.esme_id, 3, 0x000D, b"\x04\x02\x01\x02")
    assert reading_problems(command(site.esme_id, 4, 0x006B, tariff)) == []
    assert reading_problems(junk_after)[0].startswith("payload: GBZ, not decoded")
    assert any(p.startswith("Unparsed") for p in reading_problems(junk_inside))
    assert any(p.startswith("Payload:") for p in reading_problems(unknown))
    assert reading_problems(not_a_join) == ["ASN.1 payload matches no GBCS structure"]
