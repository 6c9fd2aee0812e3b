from __future__ import annotations

import random

import pytest

from webapp.zigbee.frames.aps import ApsFrame, ApsFrameType, ApsHeader, Fragmentation
from webapp.zigbee.frames.fragmentation import (
    OutgoingTransfer,
    Reassembler,
    Reassembly,
    ack_header,
    fragment,
    split_payload,
)
from webapp.zigbee.types import FrameError

HEADER = ApsHeader(
    ApsFrameType.DATA, 0x21, dst_endpoint=1, cluster_id=0x0704, profile_id=0x0109, src_endpoint=1
)
MESSAGE = bytes(random.Random(3).getrandbits(8) for _ in range(1234))


def over_the_air(frames: list[ApsFrame]) -> list[ApsFrame]:
    return [ApsFrame.from_bytes(f.to_bytes()) for f in frames]


def test_small_payload_is_not_fragmented() -> None:
    (frame,) = fragment(HEADER, b"short", 82)
    assert frame.header.fragmentation == Fragmentation.NONE
    assert Reassembler().feed("hub", frame) == b"short"


def test_split_and_headers() -> None:
    frames = fragment(HEADER, MESSAGE, 82)
    assert len(frames) == 16 == len(split_payload(MESSAGE, 82))
    assert frames[0].header.fragmentation == Fragmentation.FIRST
    assert frames[0].header.block_number == 16
    assert [f.header.block_number for f in frames[1:]] == list(range(1, 16))
    assert all(f.header.ack_request for f in frames)
    assert b"".join(f.payload for f in frames) == MESSAGE
    with pytest.raises(ValueError):
        split_payload(bytes(256), 1)
    with pytest.raises(ValueError):
        split_payload(b"x", 0)


def test_in_order_reassembly() -> None:
    r = Reassembler()
    frames = over_the_air(fragment(HEADER, MESSAGE, 82))
    results = [r.feed("hub", f) for f in frames]
    assert results[:-1] == [None] * 15 and results[-1] == MESSAGE
    assert r.open_transfers == []


def test_out_of_order_duplicates_and_late_blocks() -> None:
    rng = random.Random(11)
    frames = over_the_air(fragment(HEADER, MESSAGE, 50))
    stream = frames + rng.sample(frames, 8)  # duplicates
    rng.shuffle(stream)
    r = Reassembler()
    out = [p for f in stream if (p := r.feed("hub", f)) is not None]
    assert out == [MESSAGE]  # exactly once, even with duplicates after completion


def test_missing_blocks_are_reported_and_filled() -> None:
    frames = over_the_air(fragment(HEADER, MESSAGE, 100))
    r = Reassembler()
    lost = {0, 4, 12}
    for i, f in enumerate(frames):
        if i not in lost:
            assert r.feed("hub", f) is None
    transfer = r.transfer("hub", HEADER.counter)
    assert transfer is not None and transfer.total is None  # first block lost: size unknown
    assert r.missing("hub", HEADER.counter) == [0, 4]
    assert r.feed("hub", frames[0]) is None
    assert r.missing("hub", HEADER.counter) == [4, 12]
    assert transfer.ack_bitfield(0) == 0b11101111
    assert transfer.ack_bitfield(8) == 0b00001111  # 13 blocks: 12 missing, 13+ none
    with pytest.raises(FrameError):
        transfer.payload()
    assert r.feed("hub", frames[4]) is None
    assert r.feed("hub", frames[12]) == MESSAGE


def test_transfers_are_kept_apart_by_source_and_counter() -> None:
    a = over_the_air(fragment(HEADER, b"A" * 300, 82))
    b = over_the_air(fragment(HEADER, b"B" * 300, 82))
    c = over_the_air(fragment(ApsHeader(**{**HEADER.__dict__, "counter": 0x22}), b"C" * 200, 82))
    r = Reassembler()
    done = []
    for trio in zip(a, b, c + [None], strict=True):
        for src, f in zip(("hub", "gsme", "hub"), trio, strict=True):
            if f is not None and (p := r.feed(src, f)) is not None:
                done.append(p)
    assert sorted(done) == [b"A" * 300, b"B" * 300, b"C" * 200]


def test_abandon_and_overflow() -> None:
    r = Reassembler(max_transfers=2)
    for counter in range(3):
        frames = fragment(ApsHeader(**{**HEADER.__dict__, "counter": counter}), MESSAGE, 82)
        r.feed("hub", frames[0])
    assert r.open_transfers == [("hub", 1), ("hub", 2)]
    r.abandon("hub", 1)
    assert r.open_transfers == [("hub", 2)]
    assert r.missing("hub", 99) == []


def test_inconsistent_blocks_are_rejected() -> None:
    frames = fragment(HEADER, MESSAGE, 500)  # 3 blocks
    t = Reassembly()
    t.add(frames[0].header, frames[0].payload)
    bad = ApsHeader(**{**frames[1].header.__dict__, "block_number": 3})
    with pytest.raises(FrameError):
        t.add(bad, b"x")
    with pytest.raises(FrameError):
        t.add(ApsHeader(**{**frames[0].header.__dict__, "block_number": 4}), b"x")
    with pytest.raises(FrameError):
        t.add(HEADER, b"unfragmented")
    late = Reassembly()
    late.add(ApsHeader(**{**frames[1].header.__dict__, "block_number": 7}), b"x")
    with pytest.raises(FrameError):
        late.add(frames[0].header, frames[0].payload)
    assert t.add(frames[0].header, frames[0].payload) is False and t.duplicates == 1


def test_sender_window_and_acks() -> None:
    out = OutgoingTransfer(HEADER, MESSAGE, 82, window=4)
    assert out.total == 16
    receiver = Reassembler()
    rng = random.Random(5)
    rounds = 0
    while not out.done:
        rounds += 1
        window_start = out.window_start
        for frame in out.pending():
            if rng.random() < 0.3:
                continue  # lost on air
            result = receiver.feed("hht", ApsFrame.from_bytes(frame.to_bytes()))
            if result is not None:
                assert result == MESSAGE
        transfer = receiver.transfer("hht", HEADER.counter)
        bits = transfer.ack_bitfield(window_start, 4) if transfer else 0b1111
        ack = ack_header(HEADER, window_start, bits)
        out.on_ack(ApsFrame.from_bytes(ack.to_bytes()).header)
        assert rounds < 100
    assert out.pending() == []


def test_single_frame_ack_and_window_limits() -> None:
    out = OutgoingTransfer(HEADER, b"tiny", 82)
    assert len(out.pending()) == 1
    out.on_ack(
        ApsHeader(
            ApsFrameType.ACK,
            HEADER.counter,
            dst_endpoint=1,
            cluster_id=0x0704,
            profile_id=0x0109,
            src_endpoint=1,
        )
    )
    assert out.done
    with pytest.raises(ValueError):
        OutgoingTransfer(HEADER, b"x", 82, window=9)
    with pytest.raises(FrameError):
        out.on_ack(HEADER)
