"""Connections to the fleet's PostgreSQL: one psycopg 3 pool per process."""

from __future__ import annotations

import logging

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

POOL_MIN = 1
POOL_MAX = 10
#: How long a request waits for a free connection before it fails.
POOL_TIMEOUT_SECONDS = 10.0
#: No statement of a page or a batch runs longer than this.
STATEMENT_TIMEOUT_MS = 30_000


def configure(conn) -> None:  # type: ignore[no-untyped-def]
    """The fleet's settings for one connection: a bound on every statement, and no JIT
    compilation (its cost, tens of milliseconds, would dwarf the pages' index walks whenever
    the planner overestimates a filter's rows)."""
    conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
    conn.execute("SET jit = off")


def open_pool(dsn: str, *, max_size: int = POOL_MAX) -> ConnectionPool:
    """A pool of connections to ``dsn`` that hand back rows as dicts.

    The connections are in autocommit: every unit of work is an explicit
    ``conn.transaction()``, so a refusal recorded after a rolled-back batch (a flagged
    chain) is committed on its own."""

    pool = ConnectionPool(
        dsn,
        min_size=POOL_MIN,
        max_size=max_size,
        timeout=POOL_TIMEOUT_SECONDS,
        kwargs={"row_factory": dict_row, "autocommit": True},
        configure=configure,
        check=ConnectionPool.check_connection,  # a restarted PostgreSQL costs no request
        open=True,
        name="fleet",
    )
    pool.wait(timeout=POOL_TIMEOUT_SECONDS)
    return pool
