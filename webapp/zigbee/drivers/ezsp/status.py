"""Reading the status values an EZSP stick answers with."""

from __future__ import annotations

from typing import Any


def succeeded(status: Any) -> bool:
    """EmberStatus, EzspStatus and sl_Status all say success with 0."""
    return int(status) == 0
