"""Wireshark as the independent judge of GBCS block transfer: the GBT blocks of 3 KB messages,
carried through a GB-HRGP tunnel as the HHT and the hub carry them, decode cleanly in tshark
and reassemble to the messages ``hht parse`` reads."""

from __future__ import annotations

import json

import pytest

from webapp.cli import parse as parse_command
from webapp.zigbee.tunnel_gbt import tunnel_parts

from .gbt_vectors import big_messages
from .wireshark import TSHARK, TunnelAir, expert_errors, expert_summary, tshark_fields

pytestmark = pytest.mark.skipif(
    not TSHARK.exists(), reason=f"Wireshark's tshark is not installed at {TSHARK}"
)

REASSEMBLED = "gbcs_message.gbt.reassembled.length"
GROUPING = "gbcs_message.grouping_header"
FIELDS = [
    REASSEMBLED,
    "gbcs_message.gbt.block.count",
    f"{GROUPING}.cra_flag",
    f"{GROUPING}.originator_counter",
    f"{GROUPING}.business_originator_id",
    f"{GROUPING}.business_target_id",
    f"{GROUPING}.message_code",
]
CRA_FLAGS = {"command": "0x01", "response": "0x02", "alert": "0x03"}


def _hht_parse(data: bytes, capsys: pytest.CaptureFixture[str]) -> dict:
    assert parse_command.main(["--json", data.hex()]) == 0
    return json.loads(capsys.readouterr().out)


def _eui(text: str) -> str:
    return text.replace(":", "").upper()


def _as_hht_parse_says(shark: dict[str, str]) -> dict:
    kind = {flag: kind for kind, flag in CRA_FLAGS.items()}[shark[f"{GROUPING}.cra_flag"]]
    return {
        "kind": kind,
        "counter": int(shark[f"{GROUPING}.originator_counter"]),
        "originator": _eui(shark[f"{GROUPING}.business_originator_id"]),
        "recipient": _eui(shark[f"{GROUPING}.business_target_id"]),
        "message_code": shark[f"{GROUPING}.message_code"],
        "length": int(shark[REASSEMBLED]),
    }


def test_wireshark_reassembles_gbt_blocks_to_what_hht_parse_reads(tmp_path, capsys) -> None:
    command, *responses = big_messages()
    air = TunnelAir()
    air.open_tunnel()
    streams = []
    for message, carry in [(command, air.put)] + [(r, air.get_response) for r in responses]:
        parts = tunnel_parts(message)
        assert len(parts) > 1
        for part in parts:
            carry(part)
        streams.append((b"".join(parts), len(parts)))
    capture = air.write_pcap(tmp_path / "gbt.pcap")

    assert expert_errors(capture) == ""
    assert "Errors" not in expert_summary(capture)
    reassembled = tshark_fields(capture, REASSEMBLED, FIELDS)
    assert len(reassembled) == len(streams)
    for shark, (stream, blocks) in zip(reassembled, streams, strict=True):
        parsed = _hht_parse(stream, capsys)
        assert parsed["gbt"] is True
        assert int(shark["gbcs_message.gbt.block.count"]) == blocks
        assert _as_hht_parse_says(shark) == {key: parsed[key] for key in _as_hht_parse_says(shark)}
