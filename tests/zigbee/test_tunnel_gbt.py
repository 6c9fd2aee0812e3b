"""GBCS messages through a GB-HRGP tunnel: GBT blocks for those over one transfer, collected
back into whole messages in order, and nothing half-collected kept."""

from __future__ import annotations

import json
import logging

import pytest

from webapp.cli import parse as parse_command
from webapp.gbcs.gbt import parse_gbt_block
from webapp.zigbee.frames.tunneling import GB_HRGP_MAX_TRANSFER_SIZE
from webapp.zigbee.tunnel_gbt import (
    HRGP_OVERHEAD,
    MAX_GBT_BLOCK_LENGTH,
    GbtCollector,
    tunnel_parts,
)

from .gbt_vectors import big_messages

PARSED_FIELDS = (
    "kind",
    "message_code",
    "counter",
    "originator",
    "recipient",
    "length",
    "payload_kind",
)


def _hht_parse(data: bytes, capsys: pytest.CaptureFixture[str]) -> dict:
    assert parse_command.main(["--json", data.hex()]) == 0
    parsed = json.loads(capsys.readouterr().out)
    return {key: parsed[key] for key in PARSED_FIELDS}


def _collect(collector: GbtCollector, parts: list[bytes]) -> list[bytes | None]:
    return [collector.add(part) for part in parts]


@pytest.fixture(scope="module")
def messages() -> list[bytes]:
    return big_messages()


def test_a_message_that_fits_goes_whole():
    fits = bytes(MAX_GBT_BLOCK_LENGTH)  # carried as it is, whatever it holds
    assert tunnel_parts(fits) == [fits]
    assert MAX_GBT_BLOCK_LENGTH + HRGP_OVERHEAD == GB_HRGP_MAX_TRANSFER_SIZE


@pytest.mark.parametrize("which", [0, 1, 2], ids=["command", "response", "unwrapped-response"])
def test_3_kb_messages_round_trip_both_ways(messages, which, capsys):
    message = messages[which]
    assert 3000 < len(message) < 3 * MAX_GBT_BLOCK_LENGTH
    parts = tunnel_parts(message)
    assert len(parts) == 3
    assert all(len(part) <= MAX_GBT_BLOCK_LENGTH for part in parts)
    assert [parse_gbt_block(part)[0].number for part in parts] == [1, 2, 3]
    collector = GbtCollector("test")
    assert _collect(collector, parts) == [None, None, message]
    assert collector.pending == 0
    assert _hht_parse(message, capsys) == _hht_parse(b"".join(parts), capsys)


def test_a_big_message_that_does_not_parse_is_not_split(messages):
    with pytest.raises(ValueError, match="must parse for GBT"):
        tunnel_parts(messages[0][:-1])


def test_whole_messages_pass_straight_through():
    collector = GbtCollector("test")
    assert collector.add(b"\xdf\x09whole") == b"\xdf\x09whole"
    assert collector.add(b"") == b""


def test_blocks_out_of_order_abandon_the_message(messages, caplog):
    parts = tunnel_parts(messages[0])
    collector = GbtCollector("test")
    with caplog.at_level(logging.INFO, logger="webapp.zigbee.tunnel_gbt"):
        assert _collect(collector, [parts[0], parts[2]]) == [None, None]
    assert collector.pending == 0
    assert "abandons a GBT message after 1 block(s)" in caplog.text
    assert "GBT block number 2" in caplog.text
    assert collector.add(parts[1]) is None  # no block 1 before it: refused too
    assert _collect(collector, parts) == [None, None, messages[0]]


def test_a_block_of_another_message_abandons_the_first(messages):
    command, response, _ = messages
    mine, theirs = tunnel_parts(command), tunnel_parts(response)
    collector = GbtCollector("test")
    assert _collect(collector, [mine[0], theirs[1], mine[1], mine[2]]) == [None] * 4
    assert collector.pending == 0


def test_a_new_first_block_starts_again(messages):
    command, response, _ = messages
    mine, theirs = tunnel_parts(command), tunnel_parts(response)
    collector = GbtCollector("test")
    assert _collect(collector, [mine[0], mine[1], *theirs]) == [None, None, None, None, response]


def test_a_whole_message_between_blocks_abandons_the_unfinished_one(messages):
    parts = tunnel_parts(messages[0])
    collector = GbtCollector("test")
    assert _collect(collector, [parts[0], b"\xdf\x09whole", parts[1], parts[2]]) == [
        None,
        b"\xdf\x09whole",
        None,
        None,
    ]


def test_malformed_or_padded_blocks_are_dropped(messages):
    parts = tunnel_parts(messages[0])
    collector = GbtCollector("test")
    assert collector.add(parts[0]) is None
    assert collector.add(parts[1][:-1]) is None  # truncated: the message is abandoned
    assert collector.pending == 0
    assert collector.add(parts[0] + b"\x00") is None  # an octet after the block
    assert collector.pending == 0
    assert _collect(collector, parts) == [None, None, messages[0]]
