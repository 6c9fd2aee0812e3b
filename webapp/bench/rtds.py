"""The shared RTDS test messages (``../shared/rtds``) that the parse benchmarks time."""

from __future__ import annotations

from pathlib import Path

SHARED_RTDS = Path(__file__).resolve().parents[2].parent / "shared" / "rtds" / "RTDS-4.5.0"
KEYSTORE = SHARED_RTDS.parent / "keystore"


def rtds_hex_texts() -> list[str]:
    """Each RTDS message as its hex text, in file-name order; empty when the files are absent."""
    if not SHARED_RTDS.is_dir():
        return []
    return [p.read_text().strip() for p in sorted(SHARED_RTDS.rglob("*.HEX"))]
