"""Telling a device's "already done" (replay protection) from other failures.

DOMAIN.md (section 4) assumes a device accepts a command only when its
originator counter is strictly greater than the last one it accepted from
that remote party, and otherwise rejects it without executing.  How the
rejection is reported is kept here, in one place, so it can follow GBCS.
"""

from __future__ import annotations

from webapp.gbcs.message import Message
