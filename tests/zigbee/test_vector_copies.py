"""The copied vectors still match the shared reference set (skipped without it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .vectors import aes_mmo_vectors, cbke_vectors

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "zigbee"

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not SHARED.is_dir(), reason="shared reference set not present"),
]


@pytest.mark.parametrize(
    ("name", "copied"),
    [("cbke-vectors.json", cbke_vectors), ("aes-mmo-vectors.json", aes_mmo_vectors)],
)
def test_copies_match_shared(name: str, copied) -> None:
    original = json.loads((SHARED / name).read_text())
    mine = copied()
    assert [e["name"] for e in mine] == [e["name"] for e in original]
    for a, b in zip(mine, original, strict=True):
        assert a["fields"] == b["fields"] and a["source"] == b["source"]
