"""Alembic's environment for the fleet office: the connection comes from the caller.

``webapp.fleet.schema.migrate`` hands Alembic an open SQLAlchemy connection (made from a
libpq DSN through psycopg 3) in ``config.attributes["connection"]``; no ``alembic.ini``.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
