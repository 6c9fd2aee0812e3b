"""The no-WAN register (seed 4.1): where installs were aborted for no WAN signal.

An installer's abort with reason "no-wan" adds the site; supervisors export the register
(CSV) for the central one and import the central register back. A job at a listed site
shows a warning before the visit.

Sites and notes are typed by installers, so the export neutralises every cell a
spreadsheet would read as a formula (a leading ``'``), and the import takes that ``'``
off again.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from sqlite_utils import Database

from webapp.store.clock import utc_now

CSV_COLUMNS = ("mpxn", "site", "reported_at", "note")
MAX_IMPORT_ROWS = 100_000
MPXN_RE = re.compile(r"^[0-9]{6,13}$")
#: What makes a spreadsheet read a cell as a formula (or, tab and CR, hide one after it).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_GUARD = "'"


def spreadsheet_safe(value: object) -> str:
    """``value`` as a cell no spreadsheet runs: a formula's first character gets a ``'``."""
    text = "" if value is None else str(value)
    return FORMULA_GUARD + text if text.startswith(FORMULA_STARTS) else text


def spreadsheet_text(cell: str) -> str:
    """The text :func:`spreadsheet_safe` guarded, without its ``'``."""
    guarded = cell.startswith(FORMULA_GUARD) and cell[1:].startswith(FORMULA_STARTS)
    return cell[1:] if guarded else cell


class RegisterError(ValueError):
    """An import that cannot be taken, with every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems[:10]))


def local_entries(db: Database) -> list[dict[str, Any]]:
    """This terminal's own no-WAN aborts."""
    return [
        {"mpxn": r[0], "site": r[1], "reported_at": r[2], "note": r[3] or "", "source": "hht"}
        for r in db.execute(
            "SELECT mpxn, site, finished_at, abort_note FROM jobs "
            "WHERE abort_reason = 'no-wan' ORDER BY finished_at"
        )
    ]


def register(db: Database) -> list[dict[str, Any]]:
    """The whole register: local aborts and the imported central entries, by MPxN."""
    entries = {r["mpxn"]: dict(r) for r in db["no_wan_register"].rows}
    for entry in local_entries(db):
        entries[entry["mpxn"]] = entry
    return sorted(entries.values(), key=lambda e: e["reported_at"] or "")


def warning_for(db: Database, mpxn: str) -> str | None:
    for entry in register(db):
        if entry["mpxn"] == mpxn:
            when = (entry["reported_at"] or "")[:10]
            note = f": {entry['note']}" if entry["note"] else ""
            return f"An install here was aborted for no WAN signal ({when}){note}."
    return None


def export_csv(db: Database) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for entry in register(db):
        writer.writerow({column: spreadsheet_safe(entry.get(column)) for column in CSV_COLUMNS})
    return out.getvalue()


def import_csv(db: Database, text: str) -> int:
    """Check every row first; then add them all (in the caller's transaction) or none."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"mpxn", "site"} <= set(reader.fieldnames):
        raise RegisterError(["the file needs a header row with at least mpxn and site"])
    rows, problems = [], []
    for line, row in enumerate(reader, start=2):
        if len(rows) >= MAX_IMPORT_ROWS:
            problems.append(f"more than {MAX_IMPORT_ROWS} rows")
            break
        mpxn = (row.get("mpxn") or "").strip()
        if not MPXN_RE.match(mpxn):
            problems.append(f"line {line}: MPxN {mpxn!r} is not 6 to 13 digits")
            continue
        rows.append(
            {
                "mpxn": mpxn,
                "site": _cell(row, "site")[:200],
                "reported_at": _cell(row, "reported_at")[:40] or utc_now(),
                "note": _cell(row, "note")[:500],
                "source": "central",
            }
        )
    if problems:
        raise RegisterError(problems)
    db["no_wan_register"].upsert_all(rows, pk="mpxn")
    return len(rows)


def _cell(row: dict[str, str | None], column: str) -> str:
    return spreadsheet_text((row.get(column) or "").strip())
