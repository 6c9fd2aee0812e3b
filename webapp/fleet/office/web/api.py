"""The HHTs' side of the fleet: hello, state, batch, pack and ack (``webapp.fleet.protocol``).

Every request is read whole within the cap, then its signature is checked against the
certificate enrolled for the HHT it names before anything in it is looked at further.
Unknown and revoked HHTs are refused (403).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from webapp.fleet import protocol
from webapp.fleet.office import hhts, ingest, packs
from webapp.fleet.office import unload as central

log = logging.getLogger(__name__)

bp = Blueprint("fleet_api", __name__)


class Refused(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@bp.errorhandler(Refused)
def _refused(exc: Refused):  # type: ignore[no-untyped-def]
    return jsonify(error=str(exc)), exc.status


def _pool():  # type: ignore[no-untyped-def]
    return current_app.extensions["fleet"].pool


def _body() -> tuple[bytes, dict[str, Any]]:
    length = request.content_length
    if length is None or length > protocol.MAX_REQUEST_BYTES:
        raise Refused(f"a request must state its length, at most {protocol.MAX_REQUEST_BYTES}", 413)
    data = request.get_data(cache=False)
    try:
        return data, protocol.decode(data)
    except protocol.ProtocolError as exc:
        raise Refused(str(exc), 400) from None


def _terminal(conn, body: dict[str, Any]) -> hhts.Hht:  # type: ignore[no-untyped-def]
    hht_id = body.get("hht")
    if not isinstance(hht_id, str) or request.headers.get(protocol.TERMINAL_HEADER) != hht_id:
        raise Refused("the request names no HHT", 400)
    hht = hhts.find(conn, hht_id)
    if hht is None:
        raise Refused(f"{hht_id[:40]} is not enrolled at this fleet office", 403)
    if hht.revoked:
        raise Refused(f"{hht_id} was revoked at this fleet office", 403)
    return hht


def _signed(conn, data: bytes, body: dict[str, Any], *, fresh: bool) -> hhts.Hht:  # type: ignore[no-untyped-def]
    hht = _terminal(conn, body)
    signature = request.headers.get(protocol.SIGNATURE_HEADER, "")
    if not protocol.verify(data, signature, hht.certificate):
        raise Refused("the signature does not verify with this HHT's enrolled certificate", 403)
    if fresh:
        challenge = body.get("challenge")
        row = conn.execute(
            "SELECT 1 FROM sync_challenges WHERE hht_id = %s AND challenge = %s "
            "AND created_at > now() - make_interval(secs => %s)",
            [hht.id, str(challenge), protocol.CHALLENGE_SECONDS],
        ).fetchone()
        if row is None:
            raise Refused("the challenge is unknown or expired: say hello again", 401)
    return hht


@bp.post(protocol.HELLO)
def hello():  # type: ignore[no-untyped-def]
    _data, body = _body()
    with _pool().connection() as conn:
        hht = _terminal(conn, body)
        challenge = secrets.token_urlsafe(24)
        with conn.transaction():
            conn.execute(
                "DELETE FROM sync_challenges WHERE hht_id = %s "
                "AND created_at < now() - make_interval(secs => %s)",
                [hht.id, protocol.CHALLENGE_SECONDS],
            )
            conn.execute(
                "INSERT INTO sync_challenges (hht_id, challenge) VALUES (%s, %s)",
                [hht.id, challenge],
            )
    return jsonify(challenge=challenge)


@bp.post(protocol.STATE)
def state():  # type: ignore[no-untyped-def]
    data, body = _body()
    with _pool().connection() as conn:
        hht = _signed(conn, data, body, fresh=True)
        head = body.get("head") or {}
        with conn.transaction():
            row = conn.execute(
                "SELECT chain_seq, chain_link, chain_state, registers_digest FROM hhts "
                "WHERE id = %s",
                [hht.id],
            ).fetchone()
            if isinstance(head.get("seq"), int):
                conn.execute(
                    "UPDATE hhts SET hht_head_seq = greatest(hht_head_seq, %s), "
                    "fleet_url = %s WHERE id = %s",
                    [head["seq"], request.host_url, hht.id],
                )
            jobs = {
                r["id"]: r["digest"]
                for r in conn.execute("SELECT id, digest FROM jobs WHERE hht_id = %s", [hht.id])
            }
            loose = conn.execute(
                "SELECT coalesce(max(id), 0) AS m FROM responses WHERE hht_id = %s "
                "AND job_id IS NULL",
                [hht.id],
            ).fetchone()["m"]
            due = packs.due(conn, hht.id)
            marks = central.to_mark(conn, hht.id)
    return jsonify(
        chain={"seq": row["chain_seq"], "link": row["chain_link"], "state": row["chain_state"]},
        jobs=jobs,
        loose_max=loose,
        registers_digest=row["registers_digest"],
        packs=due,
        central=marks,
    )


@bp.post(protocol.BATCH)
def batch():  # type: ignore[no-untyped-def]
    data, body = _body()
    with _pool().connection() as conn:
        hht = _signed(conn, data, body, fresh=False)
        try:
            applied = ingest.apply_batch(conn, hht.id, data, body)
        except ingest.BatchRefused as exc:
            raise Refused(str(exc), exc.status) from None
    return jsonify(
        chain={"seq": applied.chain_seq, "link": applied.chain_link},
        events=applied.events,
        jobs=applied.jobs,
        repeated=applied.repeated,
    )


@bp.post(protocol.PACK)
def pack():  # type: ignore[no-untyped-def]
    data, body = _body()
    with _pool().connection() as conn:
        hht = _signed(conn, data, body, fresh=True)
        try:
            content = packs.fetch(conn, hht.id, int(body.get("pack", -1)))
        except (packs.PackError, TypeError, ValueError) as exc:
            raise Refused(str(exc), 404) from None
    return Response(content, mimetype="application/zip")


@bp.post(protocol.ACK)
def ack():  # type: ignore[no-untyped-def]
    data, body = _body()
    with _pool().connection() as conn:
        hht = _signed(conn, data, body, fresh=True)
        try:
            packs.acknowledge(
                conn,
                hht.id,
                int(body.get("pack", -1)),
                str(body.get("state")),
                str(body.get("detail", "")),
            )
        except (packs.PackError, TypeError, ValueError) as exc:
            raise Refused(str(exc), 400) from None
    return jsonify(ok=True)
