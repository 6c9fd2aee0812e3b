"""The published CBKE, AES-MMO and install-code vectors the tests check against.

The numbers live in ``data/*.json``: copies of the shared reference set, each entry
naming its source.  Helpers here pick entries by name.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@cache
def cbke_vectors() -> list[dict]:
    return json.loads((DATA / "cbke_vectors.json").read_text())["vectors"]


@cache
def aes_mmo_vectors() -> list[dict]:
    return json.loads((DATA / "aes_mmo_vectors.json").read_text())["vectors"]


def annex_c(suite: int) -> dict:
    """The Annex C.5 (suite 1) or C.6 (suite 2) worked example."""
    marker = "Annex C.6" if suite == 2 else "Annex C.5"
    return next(e for e in cbke_vectors() if marker in e["name"])


def certicom_sets() -> list[dict]:
    """The ZBOSS two-device Certicom-format sets (valid and corrupted)."""
    return [e for e in cbke_vectors() if e["name"].startswith("ZBOSS ECC library test set")]


def single_certificates() -> list[dict]:
    return [e for e in cbke_vectors() if e["name"].startswith("zsmartsystems")]


def set_id(entry: dict) -> str:
    """'cs2_test3b' from 'ZBOSS ECC library test set cs2_test3b (...)'."""
    return entry["name"].split("test set ", 1)[1].split(" ", 1)[0]


def by_kind(kind: str) -> list[dict]:
    return [e for e in aes_mmo_vectors() if e["kind"] == kind]


def h(text: str) -> bytes:
    return bytes.fromhex(text)
