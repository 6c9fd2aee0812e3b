"""APS fragmentation: splitting a large ASDU into blocks and putting it back together.

The first block's extended header carries the total number of blocks, every later block
its own index.  Blocks may arrive out of order or twice; acknowledgements report a
window of blocks as a bitfield (bit i = block ``first + i`` received).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field, replace

from webapp.zigbee.frames.aps import ApsFrame, ApsFrameType, ApsHeader, Fragmentation
from webapp.zigbee.types import FrameError

log = logging.getLogger(__name__)

MAX_BLOCKS = 255


def split_payload(payload: bytes, max_block: int) -> list[bytes]:
    if max_block <= 0:
        raise ValueError("block size must be positive")
    blocks = [payload[i : i + max_block] for i in range(0, len(payload), max_block)] or [b""]
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"{len(payload)} octets need {len(blocks)} blocks; at most {MAX_BLOCKS}")
    return blocks


def fragment(header: ApsHeader, payload: bytes, max_block: int) -> list[ApsFrame]:
    """One unfragmented frame if the payload fits, else the blocks with their headers."""
    if len(payload) <= max_block:
        return [ApsFrame(replace(header, fragmentation=Fragmentation.NONE), payload)]
    blocks = split_payload(payload, max_block)
    frames = [
        ApsFrame(
            replace(
                header,
                ack_request=True,
                fragmentation=Fragmentation.FIRST if i == 0 else Fragmentation.SUBSEQUENT,
                block_number=len(blocks) if i == 0 else i,
            ),
            block,
        )
        for i, block in enumerate(blocks)
    ]
    return frames


def block_index(header: ApsHeader) -> int:
    return 0 if header.fragmentation == Fragmentation.FIRST else header.block_number


def ack_header(data: ApsHeader, first_block: int, bitfield: int) -> ApsHeader:
    """The APS ack for blocks of the transfer ``data`` belongs to."""
    return ApsHeader(
        frame_type=ApsFrameType.ACK,
        counter=data.counter,
        dst_endpoint=data.src_endpoint,
        cluster_id=data.cluster_id,
        profile_id=data.profile_id,
        src_endpoint=data.dst_endpoint,
        fragmentation=Fragmentation.FIRST if first_block == 0 else Fragmentation.SUBSEQUENT,
        block_number=first_block,
        ack_bitfield=bitfield,
    )


@dataclass
class Reassembly:
    """The blocks of one incoming transfer."""

    total: int | None = None
    blocks: dict[int, bytes] = field(default_factory=dict)
    duplicates: int = 0

    def add(self, header: ApsHeader, block: bytes) -> bool:
        """Store a block; False when it was already held (a duplicate)."""
        if header.fragmentation == Fragmentation.NONE:
            raise FrameError("unfragmented frame given to a reassembly")
        if header.fragmentation == Fragmentation.FIRST:
            if header.block_number < 1:
                raise FrameError("first block announces zero blocks")
            if self.total is not None and self.total != header.block_number:
                raise FrameError("first block announces a different block count")
            self.total = header.block_number
        index = block_index(header)
        if index == 0 and header.fragmentation != Fragmentation.FIRST:
            raise FrameError("later block numbered 0")
        if self.total is not None and index >= self.total:
            raise FrameError(f"block {index} beyond the {self.total} announced")
        if index in self.blocks:
            self.duplicates += 1
            return False
        if self.total is not None:
            stray = [i for i in self.blocks if i >= self.total]
            if stray:
                raise FrameError(f"block {stray[0]} beyond the {self.total} announced")
        self.blocks[index] = bytes(block)
        return True

    @property
    def complete(self) -> bool:
        return self.total is not None and len(self.blocks) == self.total

    def missing(self) -> list[int]:
        """Blocks not yet held (before the first block arrives: up to the highest seen)."""
        end = self.total if self.total is not None else max(self.blocks, default=-1) + 1
        return [i for i in range(max(end, 1)) if i not in self.blocks]

    def ack_bitfield(self, first_block: int, window: int = 8) -> int:
        return sum(1 << i for i in range(window) if first_block + i in self.blocks)

    def payload(self) -> bytes:
        if not self.complete:
            raise FrameError(f"transfer incomplete, missing blocks {self.missing()}")
        return b"".join(self.blocks[i] for i in range(self.total or 0))


class Reassembler:
    """Incoming transfers keyed by (source, APS counter); returns whole ASDUs."""

    def __init__(self, max_transfers: int = 8, remember_done: int = 32) -> None:
        self.max_transfers = max_transfers
        self._open: OrderedDict[tuple[Hashable, int], Reassembly] = OrderedDict()
        self._done: OrderedDict[tuple[Hashable, int], None] = OrderedDict()
        self._remember_done = remember_done

    def feed(self, source: Hashable, frame: ApsFrame) -> bytes | None:
        """The complete payload once the last missing block arrives, else None."""
        header = frame.header
        if header.fragmentation == Fragmentation.NONE:
            return frame.payload
        key = (source, header.counter)
        if key in self._done:
            log.debug("late block %d of finished transfer %r", block_index(header), key)
            return None
        transfer = self._open.get(key)
        if transfer is None:
            if len(self._open) >= self.max_transfers:
                dropped, _ = self._open.popitem(last=False)
                log.info("dropping unfinished transfer %r", dropped)
            transfer = self._open[key] = Reassembly()
        transfer.add(header, frame.payload)
        if not transfer.complete:
            return None
        del self._open[key]
        self._done[key] = None
        while len(self._done) > self._remember_done:
            self._done.popitem(last=False)
        return transfer.payload()

    def transfer(self, source: Hashable, counter: int) -> Reassembly | None:
        return self._open.get((source, counter))

    def missing(self, source: Hashable, counter: int) -> list[int]:
        transfer = self._open.get((source, counter))
        return transfer.missing() if transfer else []

    def abandon(self, source: Hashable, counter: int) -> None:
        self._open.pop((source, counter), None)

    def finished(self, source: Hashable, counter: int) -> bool:
        """True when the transfer was completed lately (a repeated block is then re-acked)."""
        return (source, counter) in self._done

    def forget(self, source: Hashable) -> None:
        """Drop everything from ``source`` (it joined afresh and restarts its counters)."""
        for key in [k for k in self._open if k[0] == source]:
            del self._open[key]
        for key in [k for k in self._done if k[0] == source]:
            del self._done[key]

    @property
    def open_transfers(self) -> list[tuple[Hashable, int]]:
        return list(self._open)


class OutgoingTransfer:
    """Sender side: which blocks still need (re)sending, driven by APS acks."""

    def __init__(self, header: ApsHeader, payload: bytes, max_block: int, window: int = 1):
        if not 1 <= window <= 8:
            raise ValueError("APS window size is 1..8")
        self.frames = fragment(header, payload, max_block)
        self.window = window
        self.acked: set[int] = set()

    @property
    def total(self) -> int:
        return len(self.frames)

    @property
    def done(self) -> bool:
        return len(self.acked) == self.total

    @property
    def window_start(self) -> int:
        return next((i for i in range(self.total) if i not in self.acked), self.total)

    def pending(self) -> list[ApsFrame]:
        """Unacknowledged frames of the current window, in block order."""
        start = self.window_start
        end = min(start + self.window, self.total)
        return [self.frames[i] for i in range(start, end) if i not in self.acked]

    def on_ack(self, ack: ApsHeader) -> None:
        if ack.frame_type != ApsFrameType.ACK:
            raise FrameError("not an APS ack")
        if self.total == 1 and ack.fragmentation == Fragmentation.NONE:
            self.acked.add(0)
            return
        bits = ack.ack_bitfield or 0
        for i in range(8):
            if bits >> i & 1 and ack.block_number + i < self.total:
                self.acked.add(ack.block_number + i)
