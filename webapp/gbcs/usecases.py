"""Message codes to GBCS use cases, and alert codes to names, from the tables in ``data/``."""

from __future__ import annotations

import csv
import io
import re
from functools import cache
from pathlib import Path

_USE_CASE_ID = re.compile(r"^[A-Z]+[0-9]+[A-Za-z0-9]*$")
#: The tables, installed beside the code (package data).
DATA_DIR = Path(__file__).resolve().parent / "data"


def _rows(name: str) -> list[dict[str, str]]:
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _code(text: str) -> int:
    return int(text.strip(), 16)


@cache
def _message_codes() -> dict[int, tuple[str | None, str]]:
    """code -> (use case id or None, name)."""
    table: dict[int, tuple[str | None, str]] = {}
    for row in _rows("message-codes.csv"):
        name = " ".join(row["name"].split())
        first, _, rest = name.partition(" ")
        if _USE_CASE_ID.match(first):
            table[_code(row["code"])] = (first, rest or first)
        else:
            table[_code(row["code"])] = (None, name)
    for row in _rows("message-codes-extra.csv"):
        code = _code(row["code"])
        if code not in table:
            use_case = row["use_case"].strip()
            table[code] = (use_case, use_case)
    return table


@cache
def _alert_codes() -> dict[int, str]:
    return {_code(row["code"]): " ".join(row["name"].split()) for row in _rows("alert-codes.csv")}


def use_case_for(message_code: int) -> tuple[str, str] | None:
    """(use case id such as "ECS01a", its name) for a message code, or None if unknown."""
    entry = _message_codes().get(message_code)
    if entry is None or entry[0] is None:
        return None
    return entry[0], entry[1]


def message_code_name(message_code: int) -> str | None:
    """The table's name for a message code, including codes that are not use cases."""
    entry = _message_codes().get(message_code)
    if entry is None:
        return None
    use_case, name = entry
    return name if use_case is None or use_case == name else f"{use_case} {name}"


def alert_name(code: int) -> str | None:
    return _alert_codes().get(code)
