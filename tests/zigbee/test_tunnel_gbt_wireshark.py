"""Wireshark as the independent judge of GBCS block transfer: the GBT blocks of 3 KB messages,
carried through a GB-HRGP tunnel as the HHT and the hub carry them, decode cleanly in tshark
and reassemble to the messages ``hht parse`` reads."""

from __future__ import annotations

from tests.tshark import decode, in_hht_parse_terms, needs_tshark, problems, reassembled_gbcs
from webapp.gbcs.describe import describe
from webapp.zigbee.tunnel_gbt import tunnel_parts

from .gbt_vectors import big_messages
from .wireshark import TunnelAir

pytestmark = needs_tshark


def test_wireshark_reassembles_gbt_blocks_to_what_hht_parse_reads(tmp_path) -> None:
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
    packets = decode(air.write_capture(tmp_path / "gbt.pcapng"))

    assert problems(packets) == []
    reassembled = reassembled_gbcs(packets)
    assert len(reassembled) == len(streams)
    for shark, (stream, blocks) in zip(reassembled, streams, strict=True):
        parsed = describe(stream)  # what ``hht parse`` makes of the blocks as they went
        assert parsed["gbt"] is True
        assert shark["blocks"] == blocks
        assert in_hht_parse_terms(shark) == in_hht_parse_terms(parsed)
