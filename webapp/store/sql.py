"""Plain SQL for the runner's hot path.

sqlite-utils' table helpers read the table's schema on every call; the runner
commits several times per command, so these few helpers build the statement
directly.  Table and column names come from the code, never from input.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database


def fetch_one(db: Database, sql: str, params: list[Any] | tuple = ()) -> dict[str, Any] | None:
    cursor = db.execute(sql, list(params))
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cursor.description], row, strict=True))


def get_row(db: Database, table: str, pk: Any, pk_column: str = "id") -> dict[str, Any] | None:
    return fetch_one(db, f"SELECT * FROM {table} WHERE {pk_column} = ?", [pk])


def insert_row(db: Database, table: str, fields: dict[str, Any]) -> int:
    columns = ", ".join(fields)
    marks = ", ".join("?" for _ in fields)
    cursor = db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(fields.values()))
    return cursor.lastrowid


def update_row(
    db: Database, table: str, pk: Any, fields: dict[str, Any], pk_column: str = "id"
) -> None:
    assignments = ", ".join(f"{name} = ?" for name in fields)
    db.execute(f"UPDATE {table} SET {assignments} WHERE {pk_column} = ?", [*fields.values(), pk])
