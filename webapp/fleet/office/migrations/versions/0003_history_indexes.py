"""The history page's filters each read an index in the page's own order.

Every filter on one column (installer, status, supplier, and status with supplier) has an
index on that column followed by the page's key (``sort_at``, HHT, job id, newest first), so
the first page and every next page (keyset, never OFFSET) read only the rows they show,
however many jobs match.  Checked with EXPLAIN by ``make fleet-bench``.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute(
        """
DROP INDEX IF EXISTS jobs_installer;
DROP INDEX IF EXISTS jobs_status;
DROP INDEX IF EXISTS jobs_supplier;
CREATE INDEX jobs_installer ON jobs (installer, sort_at DESC, hht_id DESC, id DESC);
CREATE INDEX jobs_status ON jobs (status, sort_at DESC, hht_id DESC, id DESC);
CREATE INDEX jobs_supplier ON jobs (supplier_eui, sort_at DESC, hht_id DESC, id DESC);
CREATE INDEX jobs_status_supplier
    ON jobs (status, supplier_eui, sort_at DESC, hht_id DESC, id DESC);
"""
    )
