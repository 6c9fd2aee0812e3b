"""GBCS block transfer: each block is the message's routing header in the General-Ciphering
form, then a general-block-transfer APDU with one slice of the message."""

from __future__ import annotations

import pytest

from webapp.gbcs.errors import GbcsError
from webapp.gbcs.gbt import (
    MAX_BLOCK_LENGTH,
    encode_routing_header,
    is_gbt,
    max_block_data,
    parse_gbt_block,
    parse_gbt_blocks,
    reassemble_gbt,
    routing_header_for,
    split_gbt,
)
from webapp.gbcs.header import Cra
from webapp.gbcs.message import build_general_signing, parse_message, wrap_general_ciphering

from .conftest import ESME, MAC_KEY, SHARED, SUPPLIER, WHEN, make_header

COUNTER = 0x0102030405
CODE = 0x0019
INVOCATION = 0x0A0B0C0D
PAYLOAD = bytes(range(256)) * 12


@pytest.fixture(scope="module")
def command(supplier) -> bytes:
    header = make_header(Cra.COMMAND, COUNTER, CODE)
    signed = build_general_signing(header, PAYLOAD, supplier.private_key)
    return wrap_general_ciphering(signed, MAC_KEY, SUPPLIER, INVOCATION)


@pytest.fixture(scope="module")
def unwrapped(esme) -> bytes:
    header = make_header(
        Cra.RESPONSE, 3, 0x0027, originator=ESME, recipient=SUPPLIER, date_time=WHEN
    )
    return build_general_signing(header, PAYLOAD, esme.private_key)


def _routing_bytes(cra: int, counter: int, originator: bytes, recipient: bytes) -> bytes:
    return (
        bytes([0xDD, 0x09, cra])
        + counter.to_bytes(8, "big")
        + b"\x08"
        + originator
        + b"\x08"
        + recipient
        + b"\x00"  # date-time absent
    )


def test_each_block_repeats_the_mac_header_with_the_routing_fields_filled_in(command):
    blocks = split_gbt(command)
    ciphered = command[7:10]  # 82 xx xx: the whole message's ciphered-content length
    assert command[:7] == bytes.fromhex("DD000000000000") and ciphered[0] == 0x82
    routing = (
        _routing_bytes(0x01, COUNTER, SUPPLIER, ESME)
        + bytes.fromhex("020019")  # other-information: the message code alone
        + b"\x00"  # key-info absent
        + ciphered
        + b"\x11"  # security control, as in the message's MAC header
        + INVOCATION.to_bytes(4, "big")
    )
    assert command[10:15] == b"\x11" + INVOCATION.to_bytes(4, "big")
    offset = 0
    for number, block in enumerate(blocks, start=1):
        last = number == len(blocks)
        assert block.startswith(routing)
        parsed, end = parse_gbt_block(block)
        assert end == len(block) and parsed.data
        gbt_header = bytes([0xE0, 0x80 if last else 0x00]) + number.to_bytes(2, "big") + bytes(2)
        assert block[len(routing) : parsed.data_offset].startswith(gbt_header)
        assert parsed.data == command[offset : offset + len(parsed.data)]
        offset += len(parsed.data)
    assert offset == len(command)


def test_a_block_in_hex(command):
    first = split_gbt(command)[0]
    ciphered_length = command[7:10].hex().upper()
    assert ciphered_length == "820C76"
    fields = [
        "DD",  # General-Ciphering
        "09010000000102030405",  # transaction id: command, originator counter
        "0890B3D51F30010000",  # originator system title
        "0800DB1234567890A0",  # recipient system title
        "00",  # date-time absent
        "020019",  # other-information: message code ECS01a
        "00",  # key-info absent
        ciphered_length,  # the message's ciphered-content length (82 0C 76)
        "11",  # security control byte
        "0A0B0C0D",  # invocation counter
        "E0",  # general-block-transfer
        "00",  # block control: not the last block
        "0001",  # block number
        "0000",  # block number ack
        "8205A9",  # 1449 octets of block data
        "DD000000000000" + ciphered_length,  # the message itself starts
    ]
    expected = "".join(fields)
    assert first[: len(expected) // 2].hex().upper() == expected


def test_blocks_fill_but_never_pass_the_block_length(command):
    for limit in (200, 1000, MAX_BLOCK_LENGTH):
        blocks = split_gbt(command, limit)
        assert all(len(block) == limit for block in blocks[:-1])
        assert 0 < len(blocks[-1]) <= limit
        assert reassemble_gbt(b"".join(blocks)) == command
    routing = routing_header_for(command)
    assert max_block_data(routing, 1500) == 1500 - len(encode_routing_header(routing)) - 6 - 3
    with pytest.raises(ValueError, match="no room"):
        split_gbt(command, len(encode_routing_header(routing)) + 7)


def test_a_message_without_mac_header_gives_its_length_and_no_protection(unwrapped):
    routing = routing_header_for(unwrapped)
    assert (routing.ciphered_length, routing.security_control, routing.invocation_counter) == (
        len(unwrapped),
        0x00,
        0,
    )
    assert (routing.cra, routing.counter, routing.message_code) == (Cra.RESPONSE, 3, 0x0027)
    blocks = split_gbt(unwrapped, 1000)
    head = _routing_bytes(0x02, 3, ESME, SUPPLIER) + bytes.fromhex("020027") + b"\x00"
    head += b"\x82" + len(unwrapped).to_bytes(2, "big") + bytes(5)
    assert all(block.startswith(head) for block in blocks)
    message = parse_message(b"".join(blocks))
    assert message.reassembled_from_gbt and message.raw == unwrapped
    assert message.header.date_time == WHEN  # the date-time stays in the message itself


def test_a_short_message_is_one_last_block(command):
    small = split_gbt(command, 100_000)[0]
    [block] = parse_gbt_blocks(small)
    assert block.last and block.number == 1 and block.data == command


def test_routing_header_must_be_whole_message_headers(command):
    with pytest.raises(GbcsError, match="ciphered content of"):
        routing_header_for(command[:-1])
    with pytest.raises(GbcsError, match=r"0xDD \(General-Ciphering\) or 0xDF"):
        routing_header_for(b"\x42" + command[1:])
    with pytest.raises(GbcsError):
        split_gbt(b"")


def test_parsing_accepts_a_date_time_in_the_routing_header(command):
    block = split_gbt(command, 400)[0]
    date_time = bytes.fromhex("07E80511FF091E0F00800000")
    at = block.index(b"\x00\x02\x00\x19")  # date-time absent, then other-information
    with_date = block[:at] + b"\x0c" + date_time + block[at + 1 :]
    parsed, end = parse_gbt_block(with_date)
    assert end == len(with_date) and parsed.routing.date_time_raw == date_time


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda b, at: b[:at] + b"\x05" + b[at + 1 :], "date-time length"),
        (lambda b, at: b[: at + 1] + b"\x0a" + b[at + 2 :], "other-information length"),
        (lambda b, at: b[: at + 4] + b"\x01" + b[at + 5 :], "absent key-info"),
        (lambda b, at: b[:2] + b"\x07" + b[3:], "CRA flag"),
        (lambda b, at: b[:1] + b"\x08" + b[2:], "transaction id length"),
    ],
)
def test_a_malformed_routing_header_is_named(command, edit, expected):
    block = split_gbt(command, 400)[0]
    at = block.index(b"\x00\x02\x00\x19")
    with pytest.raises(GbcsError, match=expected):
        parse_gbt_block(edit(block, at))


def test_every_truncation_is_a_gbcs_error(command):
    stream = b"".join(split_gbt(command, 700))
    routing_length = len(encode_routing_header(routing_header_for(command)))
    cuts = set(range(0, routing_length + 12)) | set(range(690, 712)) | {len(stream) - 1}
    for cut in sorted(cuts):
        with pytest.raises(GbcsError):
            parse_message(stream[:cut])


def test_blocks_must_agree_on_the_routing_header(command, supplier):
    other = wrap_general_ciphering(
        build_general_signing(
            make_header(Cra.COMMAND, COUNTER + 1, CODE), PAYLOAD, supplier.private_key
        ),
        MAC_KEY,
        SUPPLIER,
        INVOCATION,
    )
    mine, theirs = split_gbt(command, 1000), split_gbt(other, 1000)
    with pytest.raises(GbcsError, match="originator counter of GBT block 1") as info:
        reassemble_gbt(mine[0] + theirs[1] + mine[2] + mine[3])
    assert info.value.offset == len(mine[0])
    assert str(COUNTER) in info.value.expected and info.value.found == str(COUNTER + 1)


def test_the_routing_header_must_be_the_messages_own(command):
    blocks = split_gbt(command, 1000)
    code = b"\x02\x00\x19"
    forged = [block.replace(code, b"\x02\x00\x27", 1) for block in blocks]
    with pytest.raises(GbcsError, match="message code of the message carried") as info:
        reassemble_gbt(b"".join(forged))
    assert info.value.expected.startswith("the message code of the message carried (25)")
    assert info.value.found == "39"
    invocation = INVOCATION.to_bytes(4, "big") + b"\xe0"
    moved = [
        block.replace(invocation, (INVOCATION + 1).to_bytes(4, "big") + b"\xe0") for block in blocks
    ]
    with pytest.raises(GbcsError, match="invocation counter"):
        reassemble_gbt(b"".join(moved))


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ([0, 2, 3], "GBT block number 2"),
        ([1, 0, 2, 3], "GBT block number 1"),
        ([0, 1, 2], "the last-block flag on GBT block 3 of 3"),
        ([0, 1, 2, 3, 3], "no last-block flag on GBT block 4 of 5"),
    ],
)
def test_blocks_in_order_and_the_last_flagged(command, order, expected):
    blocks = split_gbt(command, 1000)
    assert len(blocks) == 4
    with pytest.raises(GbcsError, match=expected):
        reassemble_gbt(b"".join(blocks[i] for i in order))


def test_a_block_without_data_or_numbered_zero_is_refused(command):
    block = split_gbt(command, 100_000)[0]
    routing_length = len(encode_routing_header(routing_header_for(command)))
    head = block[: routing_length + 6]
    with pytest.raises(GbcsError, match="block data in GBT block 1"):
        reassemble_gbt(head[:-4] + b"\x00\x01\x00\x00" + b"\x00")
    zero = head[:-4] + b"\x00\x00\x00\x00" + block[routing_length + 6 :]
    with pytest.raises(GbcsError, match="a block number from 1"):
        parse_gbt_block(zero)


def test_is_gbt(command):
    assert is_gbt(split_gbt(command)[0])
    assert not is_gbt(command) and not is_gbt(b"\xdd") and not is_gbt(b"")


RTDS = SHARED / "rtds" / "RTDS-4.5.0"


@pytest.mark.shared
@pytest.mark.skipif(not RTDS.is_dir(), reason=f"reference data absent: {RTDS} not found")
def test_reference_messages_over_1500_octets_round_trip():
    big = [
        bytes.fromhex(path.read_text().strip())
        for path in sorted(RTDS.rglob("*.HEX"))
        if path.stat().st_size > 2 * MAX_BLOCK_LENGTH
    ]
    assert len(big) == 15  # the RTDS messages over 1,500 octets
    for raw in big:
        blocks = split_gbt(raw)
        assert len(blocks) > 1 and all(len(block) <= MAX_BLOCK_LENGTH for block in blocks)
        message = parse_message(b"".join(blocks))
        assert message.raw == raw and message.header == parse_message(raw).header
