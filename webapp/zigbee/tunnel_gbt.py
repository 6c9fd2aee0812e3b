"""GBCS messages through a GB-HRGP tunnel: one transfer each, or GBCS block transfer (GBT)
for those over a transfer's 1500 octets.  Both ends of a tunnel use these."""

from __future__ import annotations

import logging

from webapp.gbcs.errors import GbcsError
from webapp.gbcs.gbt import is_gbt, parse_gbt_block, reassemble_gbt, split_gbt
from webapp.gbcs.message import parse_message
from webapp.zigbee.frames.tunneling import GB_HRGP_MAX_TRANSFER_SIZE

log = logging.getLogger(__name__)

#: The GB-HRGP octet, a GET-RESPONSE's count and the tunnel id in front of each message.
HRGP_OVERHEAD = 4
#: Block data per GBT block: room for the block's routing and GBT headers.
GBT_BLOCK_DATA = GB_HRGP_MAX_TRANSFER_SIZE - 64


def tunnel_parts(message: bytes) -> list[bytes]:
    """``message`` itself, or its GBT blocks when it does not fit one tunnel transfer."""
    if len(message) + HRGP_OVERHEAD <= GB_HRGP_MAX_TRANSFER_SIZE:
        return [message]
    try:
        header = parse_message(message).header
    except GbcsError as exc:
        raise ValueError(f"a message over one transfer must parse for GBT: {exc}") from exc
    return split_gbt(message, header, GBT_BLOCK_DATA)


class GbtCollector:
    """Whole messages from tunnel transfers: plain ones at once, GBT blocks once the last
    block is in.  Blocks that do not parse or reassemble are dropped (and logged)."""

    def __init__(self, who: str) -> None:
        self.who = who
        self._blocks: list[bytes] = []

    def add(self, part: bytes) -> bytes | None:
        if not is_gbt(part):
            self._blocks.clear()
            return part
        try:
            block, _ = parse_gbt_block(part)
        except GbcsError as exc:
            log.info("%s drops a GBT block: %s", self.who, exc)
            return None
        if block.number == 1:
            self._blocks = []
        self._blocks.append(part)
        if not block.last:
            return None
        stream, self._blocks = b"".join(self._blocks), []
        try:
            return reassemble_gbt(stream)
        except GbcsError as exc:
            log.info("%s cannot reassemble a GBT message: %s", self.who, exc)
            return None
