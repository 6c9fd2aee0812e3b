"""Timing figures for the Zigbee protocol code: CBKE handshake and frame codecs."""

from __future__ import annotations

import time
from collections.abc import Callable

from webapp.sim.zigbee_ca import TestCa
from webapp.zigbee.cbke.party import CbkeParty, Role
from webapp.zigbee.frames.aps import ApsFrame, ApsFrameType, ApsHeader
from webapp.zigbee.frames.fragmentation import Reassembler, fragment
from webapp.zigbee.frames.gbhrgp import HrgpPut, decode_hrgp
from webapp.zigbee.frames.interpan import InterPanFrame
from webapp.zigbee.frames.key_establishment import EphemeralData, decode_ke, encode_ke
from webapp.zigbee.frames.mac import BeaconFrame, SuperframeSpec, ZigbeeBeaconPayload
from webapp.zigbee.frames.nwk import NwkFrame, NwkHeader
from webapp.zigbee.frames.tunneling import TransferData, decode_tunneling, encode_tunneling
from webapp.zigbee.frames.zcl import Direction
from webapp.zigbee.types import EUI64

HHT = EUI64.from_hex("00124B0001C0FFEE")
HUB = EUI64.from_hex("00124B00AABBCCDD")


def _handshake(initiator: CbkeParty, responder: CbkeParty) -> tuple[float, float, bytes]:
    """Run one exchange; returns seconds spent in each role and the agreed key."""
    spent = {Role.INITIATOR: 0.0, Role.RESPONDER: 0.0}
    t = time.perf_counter()
    frame: bytes | None = initiator.start()
    spent[Role.INITIATOR] += time.perf_counter() - t
    turn = responder
    while frame is not None:
        t = time.perf_counter()
        frame = turn.receive(frame)
        spent[turn.role] += time.perf_counter() - t
        turn = initiator if turn is responder else responder
    if not (initiator.done and responder.done) or initiator.link_key != responder.link_key:
        raise RuntimeError("benchmark handshake did not agree on a key")
    return spent[Role.INITIATOR], spent[Role.RESPONDER], initiator.link_key or b""


def _per_call(fn: Callable[[], object], runs: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - t) / runs


def _frame_cases() -> dict[str, tuple[Callable[[], bytes], Callable[[bytes], object]]]:
    ephemeral = EphemeralData(b"\x03" + bytes(range(36)))
    beacon = BeaconFrame(
        seq=1,
        src_pan=0x1A2B,
        src=0x0000,
        superframe=SuperframeSpec(pan_coordinator=True, association_permit=True),
        payload=ZigbeeBeaconPayload(extended_pan_id=HUB),
    )
    interpan = InterPanFrame(
        seq=7,
        dst_pan=0x1A2B,
        dst=HUB,
        src_pan=0xFFFF,
        src=HHT,
        cluster_id=0x0800,
        payload=encode_ke(ephemeral, Direction.CLIENT_TO_SERVER, 3),
    )
    aps = ApsFrame(
        ApsHeader(
            ApsFrameType.DATA,
            9,
            dst_endpoint=1,
            cluster_id=0x0704,
            profile_id=0x0109,
            src_endpoint=1,
        ),
        encode_tunneling(
            TransferData(1, HrgpPut(bytes(80)).to_bytes()), Direction.CLIENT_TO_SERVER, 4
        ),
    )
    nwk_header = NwkHeader(dst=0x0000, src=0x1234, radius=30, seq=5)
    message = bytes(1500)

    def nwk_encode() -> bytes:
        return NwkFrame(nwk_header, aps.to_bytes()).to_bytes()

    def tunnel_encode() -> bytes:
        put = HrgpPut(message).to_bytes()
        return encode_tunneling(TransferData(1, put), Direction.CLIENT_TO_SERVER, 4)

    def fragments_encode() -> bytes:
        blocks = fragment(aps.header, tunnel_encode(), 82)
        return b"".join(len(b).to_bytes(1, "big") + b for b in (f.to_bytes() for f in blocks))

    def fragments_decode(data: bytes) -> bytes | None:
        reassembler = Reassembler()
        pos = 0
        out = None
        while pos < len(data):
            size = data[pos]
            out = reassembler.feed("hub", ApsFrame.from_bytes(data[pos + 1 : pos + 1 + size]))
            pos += 1 + size
        return out

    return {
        "beacon": (beacon.to_bytes, BeaconFrame.from_bytes),
        "interpan_ke": (interpan.to_bytes, InterPanFrame.from_bytes),
        "nwk_aps_data": (nwk_encode, lambda b: ApsFrame.from_bytes(NwkFrame.from_bytes(b).payload)),
        "ke_ephemeral": (
            lambda: encode_ke(ephemeral, Direction.CLIENT_TO_SERVER, 3),
            decode_ke,
        ),
        "tunnel_put_1500": (
            tunnel_encode,
            lambda b: decode_hrgp(decode_tunneling(b)[1].data),
        ),
        "aps_fragments_1500": (fragments_encode, fragments_decode),
    }


def cbke_figures(runs: int = 3, codec_runs: int = 2000, seed: int = 2024) -> dict:
    """Mean CBKE handshake time (both roles, suite 2) and per-frame encode/decode times.

    ``aps_fragments_1500`` is a whole 1500-octet GB-HRGP PUT split into 82-octet APS
    blocks (encode) and put back together (decode), all blocks together.
    """
    ca = TestCa.create(seed=seed)
    hht, hub = ca.issue(HHT), ca.issue(HUB)
    totals, init_s, resp_s = [], [], []
    for _ in range(runs):
        t = time.perf_counter()
        i, r, _ = _handshake(CbkeParty(Role.INITIATOR, hht), CbkeParty(Role.RESPONDER, hub))
        totals.append(time.perf_counter() - t)
        init_s.append(i)
        resp_s.append(r)
    frames = {}
    for name, (encode, decode) in _frame_cases().items():
        data = encode()
        frames[name] = {
            "octets": len(data),
            "encode_us": round(_per_call(encode, codec_runs) * 1e6, 2),
            "decode_us": round(_per_call(lambda d=data, f=decode: f(d), codec_runs) * 1e6, 2),
        }
    return {
        "cbke_suite": 2,
        "cbke_runs": runs,
        "cbke_handshake_ms": round(1000 * sum(totals) / runs, 2),
        "cbke_initiator_ms": round(1000 * sum(init_s) / runs, 2),
        "cbke_responder_ms": round(1000 * sum(resp_s) / runs, 2),
        "cbke_handshake_max_ms": round(1000 * max(totals), 2),
        "frames": frames,
    }


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(cbke_figures(), indent=2))
