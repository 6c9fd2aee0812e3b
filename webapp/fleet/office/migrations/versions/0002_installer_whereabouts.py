"""Where each installer is: when an HHT last showed a login of each of its users.

``last_seen`` is the HHT's own figure (its newest session of that user, on its clock);
``active_at`` is the fleet's clock when a sync first showed that figure, so HHTs whose
clocks disagree are still compared fairly.  A pack for an installer goes to the HHT with
the newest ``active_at`` for them (``webapp.fleet.office.packs``).
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE hht_users ADD COLUMN last_seen double precision;
ALTER TABLE hht_users ADD COLUMN active_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX hht_users_active ON hht_users (username, active_at DESC, hht_id);
"""
    )
