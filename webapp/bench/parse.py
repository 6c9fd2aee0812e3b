"""Parse throughput for ``make bench``: the shared RTDS files and a generated corpus."""

from __future__ import annotations

import random
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from webapp.bench.reference import reference_figures
from webapp.bench.rtds import KEYSTORE, rtds_hex_texts
from webapp.gbcs.describe import describe
from webapp.gbcs.gbz import GbzComponent, ZclFrame, build_gbz
from webapp.gbcs.header import Cra, GroupingHeader, OtherInfo
from webapp.gbcs.message import build_general_signing, parse_message, wrap_general_ciphering
from webapp.gbcs.signing import CertificateStore

REPEATS = 3
CORPUS_SIZE = 2000


def generated_corpus(size: int = CORPUS_SIZE, seed: int = 7) -> list[bytes]:
    """Commands and responses of varied sizes, built and signed with a fresh key."""
    rng = random.Random(seed)
    key = ec.generate_private_key(ec.SECP256R1())
    supplier, device = bytes.fromhex("90B3D51F30DE0001"), bytes.fromhex("70B3D5F6E5C15B62")
    corpus = []
    for n in range(size):
        components = [
            GbzComponent(0, 0x0702, ZclFrame(0x00, k, 0x00, rng.randbytes(2 * rng.randint(1, 8))))
            for k in range(rng.randint(1, 6))
        ]
        cra = Cra.COMMAND if n % 2 == 0 else Cra.RESPONSE
        origin, target = (supplier, device) if cra == Cra.COMMAND else (device, supplier)
        header = GroupingHeader(cra, 10_000 + n, origin, target, None, OtherInfo(0x0027))
        signed = build_general_signing(header, build_gbz(components), key)
        corpus.append(
            wrap_general_ciphering(signed, bytes(16), origin) if cra == Cra.COMMAND else signed
        )
    return corpus


def rtds_corpus() -> list[bytes]:
    """The shared RTDS messages as bytes (none when ``../shared/rtds`` is absent)."""
    return [bytes.fromhex(text) for text in rtds_hex_texts()]


def _throughput(messages: list[bytes], parse: Any) -> dict[str, float]:
    total = sum(len(m) for m in messages)
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        for m in messages:
            parse(m)
        best = min(best, time.perf_counter() - started)
    return {
        "messages": len(messages),
        "bytes": total,
        "messages_per_second": len(messages) / best,
        "mb_per_second": total / best / 1e6,
    }


def parse_figures() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    corpora = {"generated": generated_corpus(), "rtds": rtds_corpus()}
    for name, messages in corpora.items():
        if not messages:
            figures[name] = {"skipped": "../shared/rtds is not here"}
            continue
        figures[name] = {
            "envelope": _throughput(messages, parse_message),
            "full_describe": _throughput(messages, describe),
        }
    if corpora["rtds"] and KEYSTORE.is_dir():
        store = CertificateStore.from_directory(KEYSTORE)
        figures["rtds"]["full_describe_verified"] = _throughput(
            corpora["rtds"], lambda m: describe(m, store)
        )
    figures["typescript_reference_rtds"] = reference_figures()
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(parse_figures(), indent=2))
