"""Work packs published on the fleet for an HHT or an installer, and where they went.

A pack is checked as far as the fleet can (a zip with a manifest naming a pack and a
supplier, within the size cap); the HHT checks everything else when it loads it, with the
same all-or-nothing as an uploaded pack, and acknowledges.

A pack for an installer goes to the HHT that installer is on: of the enrolled, unrevoked
HHTs where they are an installer and not disabled, the one that most recently showed them
active (``hht_users.active_at``: the fleet's clock when a sync first showed that HHT's newest
login of theirs, or first showed them at all), ties to the smaller HHT id.  The pack is bound
to that HHT at its next sync, and stays bound (it is loaded there, or refused there for all
to see); a pack for an installer on no HHT waits until one shows them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import psycopg

from webapp.fleet import protocol
from webapp.workpack.archive import read_archive
from webapp.workpack.errors import WorkPackError
from webapp.workpack.jsonlimits import loads_bounded
from webapp.workpack.manifest import MANIFEST_NAME

log = logging.getLogger(__name__)

LOADED = "loaded"
REFUSED = "refused"
OFFERED = "offered"
ACK_STATES = (LOADED, REFUSED)
MAX_MANIFEST_DEPTH = 16
MAX_DETAIL = 2000


#: Each installer's HHT: the one that most recently showed them active (see the module).
INSTALLER_ON = """
SELECT DISTINCT ON (u.username) u.username, u.hht_id, u.active_at
FROM hht_users u JOIN hhts h ON h.id = u.hht_id
WHERE u.role = 'installer' AND NOT u.disabled AND h.revoked_at IS NULL
ORDER BY u.username, u.active_at DESC, u.hht_id
"""


class PackError(ValueError):
    """The pack cannot be published or acknowledged, with the reason."""


def publish(
    conn: psycopg.Connection,
    data: bytes,
    *,
    actor: str,
    hht: str | None = None,
    installer: str | None = None,
) -> dict[str, Any]:
    """Keep ``data`` for one HHT (by name or id) or one installer; the pack's row."""
    if (hht is None) == (installer is None):
        raise PackError("a pack goes to one HHT or one installer")
    if len(data) > protocol.MAX_PACK_BYTES:
        raise PackError(f"the pack is over {protocol.MAX_PACK_BYTES} bytes")
    try:
        members = read_archive(data)
        manifest = loads_bounded(members[MANIFEST_NAME], MAX_MANIFEST_DEPTH)
        pack_id = str(manifest["pack_id"])
        supplier = str(manifest["supplier"]["eui"])
    except (WorkPackError, KeyError, TypeError, ValueError) as exc:
        raise PackError(f"not a work pack: {exc}") from None
    with conn.transaction():
        hht_id = None
        if hht is not None:
            row = conn.execute(
                "SELECT id FROM hhts WHERE (id = %s OR name = %s) AND revoked_at IS NULL",
                [hht, hht],
            ).fetchone()
            if row is None:
                raise PackError(f"no enrolled HHT {hht!r}")
            hht_id = row["id"]
        digest = hashlib.sha256(data).hexdigest()
        if conn.execute("SELECT 1 FROM packs WHERE sha256 = %s", [digest]).fetchone():
            raise PackError(f"pack {pack_id} was published already")
        row = conn.execute(
            "INSERT INTO packs (pack_id, supplier_eui, sha256, data, hht_id, installer, "
            "published_by) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id, pack_id",
            [pack_id, supplier, digest, data, hht_id, installer, actor],
        ).fetchone()
    log.info("pack %s published for %s", pack_id, hht or f"installer {installer}")
    return dict(row)


def due(conn: psycopg.Connection, hht_id: str) -> list[dict[str, Any]]:
    """Packs this HHT should fetch now (binding installer packs to it); in a transaction."""
    conn.execute(
        "INSERT INTO pack_deliveries (pack_id, hht_id, state) "
        f"SELECT p.id, %s, %s FROM packs p JOIN ({INSTALLER_ON}) w ON w.username = p.installer "
        "WHERE w.hht_id = %s AND NOT EXISTS "
        "(SELECT 1 FROM pack_deliveries d WHERE d.pack_id = p.id) ON CONFLICT DO NOTHING",
        [hht_id, OFFERED, hht_id],
    )
    conn.execute(
        "INSERT INTO pack_deliveries (pack_id, hht_id, state) "
        "SELECT p.id, %s, %s FROM packs p WHERE p.hht_id = %s ON CONFLICT DO NOTHING",
        [hht_id, OFFERED, hht_id],
    )
    return [
        dict(r)
        for r in conn.execute(
            "SELECT p.id, p.pack_id, p.sha256, p.installer FROM pack_deliveries d "
            "JOIN packs p ON p.id = d.pack_id WHERE d.hht_id = %s AND d.state = %s ORDER BY p.id",
            [hht_id, OFFERED],
        )
    ]


def fetch(conn: psycopg.Connection, hht_id: str, pack: int) -> bytes:
    row = conn.execute(
        "SELECT p.data FROM pack_deliveries d JOIN packs p ON p.id = d.pack_id "
        "WHERE d.hht_id = %s AND d.pack_id = %s",
        [hht_id, pack],
    ).fetchone()
    if row is None:
        raise PackError(f"no pack {pack} for this HHT")
    return bytes(row["data"])


def acknowledge(conn: psycopg.Connection, hht_id: str, pack: int, state: str, detail: str) -> None:
    if state not in ACK_STATES:
        raise PackError(f"{state!r} is not one of {', '.join(ACK_STATES)}")
    with conn.transaction():
        changed = conn.execute(
            "UPDATE pack_deliveries SET state = %s, detail = %s, acked_at = now() "
            "WHERE hht_id = %s AND pack_id = %s",
            [state, str(detail)[:MAX_DETAIL], hht_id, pack],
        ).rowcount
    if not changed:
        raise PackError(f"no pack {pack} for this HHT")


def deliveries(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Which packs are on which HHT (and which wait or were refused)."""
    return [
        dict(r)
        for r in conn.execute(
            "SELECT p.id, p.pack_id, p.supplier_eui, p.installer, p.published_at, "
            "coalesce(h.name, d.hht_id, t.name) AS hht, d.state, d.detail, d.acked_at "
            "FROM packs p LEFT JOIN pack_deliveries d ON d.pack_id = p.id "
            "LEFT JOIN hhts h ON h.id = d.hht_id LEFT JOIN hhts t ON t.id = p.hht_id "
            "ORDER BY p.id DESC LIMIT 500"
        )
    ]


def installers(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Which HHT each installer is on (where a pack for them goes), and since when."""
    return [
        dict(r)
        for r in conn.execute(
            f"SELECT w.username, w.hht_id, h.name AS hht, w.active_at FROM ({INSTALLER_ON}) w "
            "JOIN hhts h ON h.id = w.hht_id ORDER BY w.username"
        )
    ]


def summary(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=str)
