"""The fleet office's schema: Alembic migrations, and the monthly partitions made ahead.

``migrate`` brings a database to the newest revision (``hht fleet migrate``, and
``hht fleet serve`` before it listens).  Alembic speaks through SQLAlchemy, which the
fleet's own code does not use: only the migrations do, over psycopg 3 like everything else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
from psycopg.rows import tuple_row

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
PARTITIONED = ("events", "commands", "responses")
#: Months made ahead of now by ``ensure_ahead`` (serve calls it at start and daily).
MONTHS_AHEAD = 3
#: Partitions are made for months in this window; other times go to the DEFAULT partition.
FIRST_YEAR = 2000
LAST_YEAR = 2099
#: One process at a time makes partitions (a constant key for pg_advisory_xact_lock).
PARTITION_LOCK_KEY = 0x48485446  # "HHTF"


def migrate(dsn: str) -> str:
    """Upgrade the database at ``dsn`` to the newest revision; the revision it is at."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(dsn), poolclass=NullPool
    )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_ahead(conn)
    log.info("fleet database at revision %s", revision)
    return str(revision)


def month_start(value: datetime | date) -> date:
    return date(value.year, value.month, 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_y{month.year:04d}m{month.month:02d}"


def in_window(month: date) -> bool:
    return FIRST_YEAR <= month.year <= LAST_YEAR


def ensure_partitions(conn: psycopg.Connection, months: Iterable[date]) -> list[str]:
    """Make the monthly partitions of every partitioned table for ``months`` (in the
    window) that do not exist yet; the names made.  Runs in a transaction of its own."""
    wanted = sorted({month_start(m) for m in months if in_window(month_start(m))})
    if not wanted:
        return []
    made: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [PARTITION_LOCK_KEY])
        existing = {
            row[0]
            for row in conn.cursor(row_factory=tuple_row).execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY(%s)",
                [list(PARTITIONED)],
            )
        }
        for table in PARTITIONED:
            for month in wanted:
                name = partition_name(table, month)
                if name in existing:
                    continue
                conn.execute(
                    f"CREATE TABLE {name} PARTITION OF {table} "
                    f"FOR VALUES FROM ('{month.isoformat()}') "
                    f"TO ('{next_month(month).isoformat()}')"
                )
                made.append(name)
    if made:
        log.info("made partitions %s", ", ".join(made))
    return made


def ensure_ahead(conn: psycopg.Connection, now: datetime | None = None) -> list[str]:
    """This month's partitions and ``MONTHS_AHEAD`` more."""
    month = month_start(now or datetime.now(UTC))
    months = [month]
    for _ in range(MONTHS_AHEAD):
        months.append(next_month(months[-1]))
    return ensure_partitions(conn, months)
