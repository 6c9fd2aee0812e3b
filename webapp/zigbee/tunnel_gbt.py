"""GBCS messages through a GB-HRGP tunnel: one transfer each, or GBCS block transfer (GBT)
for those over a transfer's 1500 octets.  Both ends of a tunnel use these.

Each GBT block goes in a transfer of its own, laid out as :mod:`webapp.gbcs.gbt` describes
(routing header in the General-Ciphering form, then the general-block-transfer APDU): the
layout Wireshark's GBCS dissector reads and reassembles from ZCL Tunneling TransferData
commands (checked with tshark 4.0, see tests/zigbee/test_tunnel_gbt_wireshark.py).
"""

from __future__ import annotations

import logging

from webapp.gbcs.errors import GbcsError
from webapp.gbcs.gbt import (
    FIRST_BLOCK_NUMBER,
    GbtBlock,
    check_next_block,
    is_gbt,
    parse_gbt_block,
    reassemble_blocks,
    split_gbt,
)
from webapp.gbcs.message import parse_message
from webapp.zigbee.frames.tunneling import GB_HRGP_MAX_TRANSFER_SIZE

log = logging.getLogger(__name__)

#: The GB-HRGP octet, a GET-RESPONSE's count and the tunnel id in front of each message.
HRGP_OVERHEAD = 4
#: The longest GBT block (routing header, GBT header and block data) one transfer carries.
MAX_GBT_BLOCK_LENGTH = GB_HRGP_MAX_TRANSFER_SIZE - HRGP_OVERHEAD


def tunnel_parts(message: bytes) -> list[bytes]:
    """``message`` itself, or its GBT blocks when it does not fit one tunnel transfer.

    Raises ValueError for a message over one transfer that does not parse."""
    if len(message) <= MAX_GBT_BLOCK_LENGTH:
        return [message]
    try:
        parse_message(message)
        return split_gbt(message, MAX_GBT_BLOCK_LENGTH)
    except GbcsError as exc:
        raise ValueError(f"a message over one transfer must parse for GBT: {exc}") from exc


class GbtCollector:
    """Whole messages from tunnel transfers: plain ones at once, GBT blocks once the last
    block is in.

    Blocks must come in order (1, 2, 3 ...), each repeating the first block's routing header.
    A block that does not parse, does not follow, or a whole message arriving in between,
    abandons the unfinished message (logged): nothing half-collected is kept.  A block 1
    always starts a new message."""

    def __init__(self, who: str) -> None:
        self.who = who
        self._blocks: list[GbtBlock] = []

    @property
    def pending(self) -> int:
        """Blocks held of a message not yet complete."""
        return len(self._blocks)

    def add(self, part: bytes) -> bytes | None:
        """The whole message ``part`` completes (or is), else None."""
        if not is_gbt(part):
            self._abandon("a whole message came between its blocks")
            return part
        try:
            block = _one_block(part)
            self._extend(block)
        except GbcsError as exc:
            self._abandon(f"a GBT block was refused: {exc}")
            log.info("%s drops a GBT block: %s", self.who, exc)
            return None
        if not block.last:
            return None
        blocks, self._blocks = self._blocks, []
        try:
            return reassemble_blocks(blocks)
        except GbcsError as exc:
            log.info("%s cannot reassemble a GBT message: %s", self.who, exc)
            return None

    def _extend(self, block: GbtBlock) -> None:
        if block.number == FIRST_BLOCK_NUMBER:
            self._abandon("a new message's first block came")
            check_next_block(block, block, FIRST_BLOCK_NUMBER)
        elif not self._blocks:
            raise GbcsError(block.offset, "GBT block 1 first", f"block {block.number}")
        else:
            check_next_block(self._blocks[0], block, self._blocks[-1].number + 1)
        self._blocks.append(block)

    def _abandon(self, why: str) -> None:
        if self._blocks:
            log.info(
                "%s abandons a GBT message after %d block(s): %s", self.who, len(self._blocks), why
            )
            self._blocks = []


def _one_block(part: bytes) -> GbtBlock:
    """The single GBT block making up ``part``."""
    block, end = parse_gbt_block(part)
    if end != len(part):
        raise GbcsError(
            end, "the end of the transfer after its GBT block", f"{len(part) - end} more octet(s)"
        )
    return block
