"""The demo's commands and the simulated devices' answers to them, and what a full reading
of a message means: every payload byte under a named field, nothing left unparsed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from webapp.gbcs.asn1_view import asn1_tree
from webapp.gbcs.describe import describe
from webapp.gbcs.message import Message, parse_message
from webapp.gbcs.payload import payload_encoding
from webapp.gbcs.tree import ViewContext
from webapp.sim.catalogue import STEPS, Step, device_set_of, service_requests_for
from webapp.sim.han.han import SimHan
from webapp.sim.han.scenario import SiteInfo
from webapp.sim.pki import Identity

BUILT_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
#: Sim seconds for a woken gas meter to run what its proxy held.
GSME_WAKE_SECONDS = 5
#: Node names a view gives bytes it could not name.
UNNAMED = {"Unparsed", "Payload"}
_INDEX = re.compile(r"\[\d+\]\s*")
_NUMBERED = re.compile(r"\s\d+$")


def demo_commands(han: SimHan, site: SiteInfo, supplier: Identity) -> list[tuple[Step, bytes]]:
    """Every step of the catalogue, built for ``site`` as the demo builds it."""
    steps = list(STEPS.values())
    _, device_set = service_requests_for(han, supplier, device_set_of(site), steps, 0, BUILT_AT)
    return [(step, spec[0].raw) for step, spec in zip(steps, device_set.commands, strict=True)]


def answer_of(han: SimHan, site: SiteInfo, raw: bytes) -> bytes:
    """The device's response to ``raw`` delivered by WAN (waking the gas meter if needed)."""
    response = han.deliver_via_wan(raw)
    if response is not None:
        return response
    han.press_gsme_button(site.hub_id)
    han.clock.advance(GSME_WAKE_SECONDS)
    counter = parse_message(raw).counter
    answers = [r for r in han.wan_responses(site.hub_id) if parse_message(r).counter == counter]
    assert answers, "the device never answered"
    return answers[-1]


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node["children"]:
        yield from _walk(child)


def payload_node(described: dict[str, Any]) -> dict[str, Any]:
    return next(n for n in described["tree"] if n["name"] == "Payload")


def reading_problems(raw: bytes) -> list[str]:
    """What keeps ``raw`` from being read in full: bytes under no named node, nodes of
    unnamed or undecoded bytes, an ASN.1 payload that matches no GBCS structure."""
    described = describe(raw)
    payload = payload_node(described)
    problems: list[str] = []
    if "not decoded" in (payload["value"] or "") or not payload["children"]:
        problems.append(f"payload: {payload['value']}")
    covered: set[int] = set()
    for child in payload["children"]:
        covered.update(range(child["offset"], child["offset"] + child["length"]))
        for node in _walk(child):
            if node["name"] in UNNAMED or "not decoded" in str(node["value"]):
                problems.append(f"{node['name']}: {node['value']} at {node['offset']}")
    start, end = payload["offset"], payload["offset"] + payload["length"]
    missing = sorted(set(range(start, end)) - covered)
    if missing:
        problems.append(f"{len(missing)} byte(s) under no field, first at {missing[0]}")
    message = parse_message(raw)
    if payload_encoding(message) == "asn1" and not _asn1_matched(message):
        problems.append("ASN.1 payload matches no GBCS structure")
    return problems


def _asn1_matched(message: Message) -> bool:
    start = message.payload_offset
    header = message.header
    _, labelled = asn1_tree(
        message.raw,
        start,
        start + len(message.payload),
        header.message_code,
        header.cra,
        ViewContext(),
    )
    return labelled.matched


def field_paths(raw: bytes) -> set[tuple[str, ...]]:
    """The payload's shape: every path of field names from the payload down, with element
    indexes and item numbers left out (so two tariffs of different sizes compare equal)."""
    paths: set[tuple[str, ...]] = set()

    def visit(node: dict[str, Any], prefix: tuple[str, ...]) -> None:
        name = _NUMBERED.sub("", _INDEX.sub("", node["name"]))
        path = (*prefix, name)
        paths.add(path)
        for child in node["children"]:
            visit(child, path)

    for child in payload_node(describe(raw))["children"]:
        visit(child, ())
    return paths
