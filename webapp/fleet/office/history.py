"""The fleet's job history: filters and keyset paging (never OFFSET).

Jobs are ordered newest first by (``sort_at``, HHT, job id); a page's cursor is the last
row's key, and the next page asks for rows strictly after it, so a page costs the same
however deep it is and rows synced meanwhile neither repeat nor vanish.

Every filter reads an index: one in the page's own order where the filter is one column
(installer, status, supplier, date, none), the HHT's own index once its name is resolved to
its id, the MPxN's.  A site prefix is the one filter whose matches are not in page order:
a narrow prefix (at most ``NARROW_SITE_MATCHES`` jobs, counted through the site index) is
read through the site index first and sorted; a broad one walks the page order, where
matches are dense enough to fill a page soon.  (Left to itself the planner may walk the
whole page order for a narrow prefix: ``make fleet-bench`` measures both.)
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import psycopg

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_FILTER_CHARS = 64
#: A site prefix matching at most this many jobs is read through the site index first.
NARROW_SITE_MATCHES = 2000


class FilterError(ValueError):
    """A filter or cursor that cannot be used, with the reason."""


@dataclass
class Filters:
    hht: str | None = None
    installer: str | None = None
    day: date | None = None
    status: str | None = None
    mpxn_or_site: str | None = None
    supplier: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        values = {}
        for key in ("hht", "installer", "date", "status", "q", "supplier"):
            text = (args.get(key) or "").strip()
            if len(text) > MAX_FILTER_CHARS:
                raise FilterError(f"{key} is over {MAX_FILTER_CHARS} characters")
            values[key] = text or None
        day = None
        if values["date"]:
            try:
                day = date.fromisoformat(values["date"])
            except ValueError:
                raise FilterError("date must be YYYY-MM-DD") from None
        return cls(
            values["hht"],
            values["installer"],
            day,
            values["status"],
            values["q"],
            values["supplier"].replace("-", "").upper() if values["supplier"] else None,
        )

    def site_pattern(self) -> str | None:
        """The LIKE pattern of a site prefix (None when the filter is an MPxN or absent)."""
        if not self.mpxn_or_site or self.mpxn_or_site.isdigit():
            return None
        escaped = self.mpxn_or_site.lower().replace("\\", "\\\\")
        return escaped.replace("%", "\\%").replace("_", "\\_") + "%"

    def where(self, hht_id: str | None = None) -> tuple[list[str], list[Any]]:
        """The WHERE clauses and parameters (``hht_id``: the HHT filter resolved to an id)."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.hht and hht_id is not None:
            clauses.append("j.hht_id = %s")
            params.append(hht_id)
        elif self.hht:
            clauses.append("j.hht_id IN (SELECT id FROM hhts WHERE id = %s OR name = %s)")
            params += [self.hht, self.hht]
        if self.installer:
            clauses.append("j.installer = %s")
            params.append(self.installer)
        if self.day:
            start = datetime(self.day.year, self.day.month, self.day.day)
            clauses.append("j.sort_at >= %s::timestamp AT TIME ZONE 'UTC'")
            clauses.append("j.sort_at < %s::timestamp AT TIME ZONE 'UTC'")
            params += [start, start + timedelta(days=1)]
        if self.status:
            clauses.append("j.status = %s")
            params.append(self.status)
        if self.mpxn_or_site:
            if self.mpxn_or_site.isdigit():
                clauses.append("j.mpxn = %s")
                params.append(self.mpxn_or_site)
            else:
                clauses.append("lower(j.site) LIKE %s")
                params.append(self.site_pattern())
        if self.supplier:
            clauses.append("j.supplier_eui = %s")
            params.append(self.supplier)
        return clauses, params


def encode_cursor(row: dict[str, Any]) -> str:
    key = [row["sort_at"].isoformat(), row["hht_id"], row["id"]]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, str, str]:
    try:
        padded = text + "=" * (-len(text) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(key[0]), str(key[1]), str(key[2])
    except (ValueError, TypeError, IndexError, KeyError):
        raise FilterError("the page cursor is not one of this page's") from None


def page(
    conn: psycopg.Connection,
    filters: Filters,
    after: str | None = None,
    size: int = PAGE_SIZE,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of jobs, newest first, and the cursor of the next page (None at the end)."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    sql, params = page_query(conn, filters, after, size)
    rows = [dict(r) for r in conn.execute(sql, params)]
    more = len(rows) > size
    rows = rows[:size]
    return rows, encode_cursor(rows[-1]) if more and rows else None


def _narrow_site(conn: psycopg.Connection, pattern: str) -> bool:
    """Whether at most ``NARROW_SITE_MATCHES`` jobs have a site starting so (counted through
    the site index, reading no more than that many entries: in the index's own order, so the
    planner never trades it for a scan of the table on a wrong guess of the matches)."""
    row = conn.execute(
        "SELECT count(*) AS n FROM (SELECT 1 FROM jobs WHERE lower(site) LIKE %s "
        "ORDER BY lower(site) USING ~<~ LIMIT %s) m",
        [pattern, NARROW_SITE_MATCHES + 1],
    ).fetchone()
    return int(row["n"] if isinstance(row, dict) else row[0]) <= NARROW_SITE_MATCHES


def page_query(
    conn: psycopg.Connection, filters: Filters, after: str | None, size: int
) -> tuple[str, list[Any]]:
    """The SQL and parameters of one page (one row more than ``size``, to know if another
    page follows), planned as the module says."""
    hht_id = None
    if filters.hht:
        row = conn.execute(
            "SELECT id FROM hhts WHERE id = %s OR name = %s ORDER BY id = %s DESC LIMIT 1",
            [filters.hht, filters.hht, filters.hht],
        ).fetchone()
        hht_id = (row["id"] if isinstance(row, dict) else row[0]) if row else ""
    clauses, params = filters.where(hht_id)
    if after:
        clauses.append("(j.sort_at, j.hht_id, j.id) < (%s, %s, %s)")
        params += list(decode_cursor(after))
    source = "jobs j"
    pattern = filters.site_pattern()
    if pattern is not None and _narrow_site(conn, pattern):
        # the few matches first (through the site index), then sorted into the page's order
        source = (
            "(WITH matches AS MATERIALIZED (SELECT * FROM jobs WHERE lower(site) LIKE %s) "
            "SELECT * FROM matches) j"
        )
        params.insert(0, pattern)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = (
        "SELECT j.hht_id, h.name AS hht_name, j.id, j.site, j.mpxn, j.supplier_eui, "
        "j.installer, j.status, j.appointment, j.created_at, j.finished_at, j.sort_at, "
        "j.commands, j.answered "
        f"FROM {source} JOIN hhts h ON h.id = j.hht_id {where} "
        "ORDER BY j.sort_at DESC, j.hht_id DESC, j.id DESC LIMIT %s"
    )
    return sql, [*params, size + 1]
