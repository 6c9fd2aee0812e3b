"""GBCS block transfer (GBT): a message too long for one transfer, sent as numbered blocks.

Each block is assumed to be laid out as::

    DD                          General-Ciphering tag
    09 <CRA> <counter 8>        message routing header: the same fields as the grouping
    08 <originator EUI-64>      header of the message carried (see :mod:`header`)
    08 <recipient EUI-64>
    00 | 0C <12 octets>         date-time
    <len> <other-information>   message code [+ supplementary fields]
    E0                          general-block-transfer tag
    <block control>             bit 7 last block, bit 6 streaming, bits 5..0 window
    <block number 2>            1, 2, 3 ... (big-endian)
    <block number ack 2>
    <len> <block data>          BER length, then a slice of the whole message

The block data of blocks 1..n, in order, is the complete message (``DD 00 ...`` or ``DF``).
The layout is taken from the DLMS general-block-transfer APDU and the description of the
routing header; it has not been checked against a captured GBT exchange, so it is kept in
this one module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .errors import GbcsError
from .header import GroupingHeader, build_grouping_header, read_grouping_header_body
from .reader import Reader, encode_ber_length

log = logging.getLogger(__name__)

GENERAL_CIPHERING_TAG = 0xDD
GBT_TAG = 0xE0
LAST_BLOCK = 0x80
STREAMING = 0x40
WINDOW_MASK = 0x3F
MAX_GBCS_BLOCK_DATA = 1500


@dataclass(frozen=True)
class GbtBlock:
    routing: GroupingHeader
    last: bool
    streaming: bool
    window: int
    number: int
    ack: int
    data: bytes
    offset: int = 0
    data_offset: int = 0


def is_gbt(data: bytes) -> bool:
    return len(data) >= 2 and data[0] == GENERAL_CIPHERING_TAG and data[1] != 0x00


def parse_gbt_block(data: bytes, offset: int = 0) -> tuple[GbtBlock, int]:
    reader = Reader(data, offset)
    reader.expect(GENERAL_CIPHERING_TAG, "GBT routing header tag 0xDD")
    routing = read_grouping_header_body(reader)
    reader.expect(GBT_TAG, "general-block-transfer tag")
    control = reader.u8("block control")
    number = reader.uint(2, "block number")
    ack = reader.uint(2, "block number ack")
    length = reader.ber_length("block data")
    data_offset = reader.pos
    block_data = reader.take(length, "block data")
    block = GbtBlock(
        routing=routing,
        last=bool(control & LAST_BLOCK),
        streaming=bool(control & STREAMING),
        window=control & WINDOW_MASK,
        number=number,
        ack=ack,
        data=block_data,
        offset=offset,
        data_offset=data_offset,
    )
    return block, reader.pos


def parse_gbt_blocks(data: bytes) -> list[GbtBlock]:
    """Every block in a back-to-back stream of GBT blocks."""
    blocks: list[GbtBlock] = []
    offset = 0
    while offset < len(data):
        block, offset = parse_gbt_block(data, offset)
        blocks.append(block)
    return blocks


def reassemble_gbt(data: bytes) -> bytes:
    """Join the block data of a complete GBT stream, checking order and routing."""
    blocks = parse_gbt_blocks(data)
    if not blocks:
        raise GbcsError(0, "at least one GBT block")
    first = blocks[0].routing
    for index, block in enumerate(blocks, start=1):
        if block.number != index:
            raise GbcsError(block.offset, f"GBT block number {index}", str(block.number))
        if (block.routing.cra, block.routing.counter, block.routing.originator) != (
            first.cra,
            first.counter,
            first.originator,
        ):
            raise GbcsError(block.offset, "the same transaction in every GBT block")
        if block.last != (index == len(blocks)):
            expected = "the last-block flag" if index == len(blocks) else "no last-block flag"
            raise GbcsError(block.offset, f"{expected} on GBT block {index}")
    return b"".join(block.data for block in blocks)


def split_gbt(
    message: bytes, routing: GroupingHeader, block_size: int = MAX_GBCS_BLOCK_DATA
) -> list[bytes]:
    """Cut ``message`` into GBT blocks of at most ``block_size`` octets of block data."""
    if block_size <= 0:
        raise ValueError("block size must be positive")
    routing_bytes = build_grouping_header(routing)
    chunks = [message[i : i + block_size] for i in range(0, len(message), block_size)] or [b""]
    blocks = []
    for number, chunk in enumerate(chunks, start=1):
        control = LAST_BLOCK if number == len(chunks) else 0
        blocks.append(
            bytes([GENERAL_CIPHERING_TAG])
            + routing_bytes[1:]
            + bytes([GBT_TAG, control])
            + number.to_bytes(2, "big")
            + (0).to_bytes(2, "big")
            + encode_ber_length(len(chunk))
            + chunk
        )
    return blocks
