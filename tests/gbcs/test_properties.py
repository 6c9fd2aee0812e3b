"""Property-based checks: round trips hold, and bad input only ever raises GbcsError."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.gbcs.describe import describe
from webapp.gbcs.errors import GbcsError
from webapp.gbcs.gbz import parse_gbz
from webapp.gbcs.header import Cra, GroupingHeader, OtherInfo
from webapp.gbcs.message import (
    build_general_signing,
    build_precommand,
    parse_message,
    parse_messages,
    wrap_general_ciphering,
)
from webapp.gbcs.outcome import response_outcome

from .conftest import MAC_KEY
from .vectors import all_messages

SETTINGS = settings(
    max_examples=250,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

euis = st.binary(min_size=8, max_size=8)
counters = st.integers(min_value=0, max_value=(1 << 64) - 1)
times = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 12, 31),
        timezones=st.just(UTC),
    ).map(lambda t: t.replace(microsecond=t.microsecond // 10_000 * 10_000)),
)


@st.composite
def other_infos(draw: st.DrawFn) -> OtherInfo:
    code = draw(st.integers(0, 0xFFFF))
    form = draw(st.integers(0, 4))
    if form == 0:
        return OtherInfo(code)
    party = draw(euis)
    if form == 1:
        return OtherInfo(code, party)
    counter = draw(counters)
    if form == 2:
        return OtherInfo(code, party, counter)
    if form == 3:
        return OtherInfo(code, party, counter, supplementary_originator_counter=draw(counters))
    return OtherInfo(code, party, counter, certificate=draw(st.binary(min_size=9, max_size=300)))


headers = st.builds(
    GroupingHeader,
    cra=st.sampled_from(list(Cra)),
    counter=counters,
    originator=euis,
    recipient=euis,
    date_time=times,
    other_info=other_infos(),
)


def _check_described(raw: bytes, described: dict) -> None:
    json.dumps(described)

    def walk(nodes):
        for node in nodes:
            assert 0 <= node["offset"] <= node["offset"] + node["length"] <= described["length"]
            walk(node["children"])

    walk(described["tree"])


@SETTINGS
@given(header=headers, payload=st.binary(max_size=400), counter=st.integers(0, 2**32 - 1))
def test_round_trip(header: GroupingHeader, payload: bytes, counter: int):
    signed = build_general_signing(header, payload, None)
    message = parse_message(signed)
    assert (message.header, message.payload, message.signature) == (header, payload, None)
    wrapped = parse_message(wrap_general_ciphering(signed, MAC_KEY, header.originator, counter))
    assert wrapped.header == header and wrapped.payload == payload
    assert wrapped.invocation_counter == counter
    assert wrapped.signed_bytes == message.signed_bytes
    pre = parse_message(build_precommand(header, payload))
    assert pre.header == header and pre.payload == payload


@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes_only_raise_gbcs_error(data: bytes):
    for candidate in (data, b"\xdf\x09" + data, b"\xdd\x00" + data, b"\xdd\x09" + data):
        try:
            message = parse_message(candidate)
        except GbcsError:
            continue
        response_outcome(message)
        _check_described(message.raw, describe(candidate))


@st.composite
def mutations(draw: st.DrawFn, messages: list[bytes]) -> bytes:
    raw = bytearray(draw(st.sampled_from(messages)))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        index = draw(st.integers(0, max(len(raw) - 1, 0)))
        if action == "flip" and raw:
            raw[index] ^= 1 << draw(st.integers(0, 7))
        elif action == "set" and raw:
            raw[index] = draw(st.integers(0, 255))
        elif action == "cut":
            del raw[index:]
        elif action == "insert":
            raw[index:index] = draw(st.binary(min_size=1, max_size=4))
        elif action == "delete" and raw:
            del raw[index]
    return bytes(raw)


@pytest.fixture(scope="module")
def vectors(supplier, esme) -> list[bytes]:
    return all_messages(supplier, esme)


@SETTINGS
@given(data=st.data())
def test_mutated_messages_only_raise_gbcs_error(vectors, store, data):
    raw = data.draw(mutations(vectors))
    with contextlib.suppress(GbcsError):
        parse_messages(raw)
    try:
        message = parse_message(raw)
    except GbcsError:
        with pytest.raises(GbcsError):
            describe(raw, store)
        return
    assert response_outcome(message).status in ("success", "failure", "unknown")
    _check_described(message.raw, describe(raw, store))


@SETTINGS
@given(data=st.binary(max_size=200))
def test_gbz_payload_parser_only_raises_gbcs_error(data: bytes):
    with contextlib.suppress(GbcsError):
        parse_gbz(b"\x01\x09" + data)
