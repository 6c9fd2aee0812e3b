"""Applying one HHT's batch: checked whole, then written in one transaction, or refused.

The HHT's row is locked for the batch (``FOR UPDATE``), so two batches of one HHT apply one
after the other.  Then, in order:

* **events**: those at or below the sequence the fleet holds must be the very events it
  holds (same link); the first new one must follow the held one (its ``prev`` is the held
  link) and every link is recomputed from the event's record
  (:mod:`webapp.store.audit.chain`).  An event that differs from what is held, or a link
  that does not compute, is a broken chain: the batch is refused and the HHT flagged on the
  devices page (nothing more of it is accepted until a supervisor clears the flag).  A
  batch that starts beyond what is held (a later batch arriving first) is refused with
  nothing flagged: the HHT starts again from what the fleet holds.
* **snapshots** (jobs, loose responses, registers) replace the fleet's copy only when they
  are at least as new as it (``as_of``: the HHT's newest event when it read them), so a
  batch played again later never takes a job back.

Every count and size is capped before anything is read into the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg

from webapp.fleet import protocol
from webapp.fleet.office.schema import ensure_partitions, in_window, month_start
from webapp.store.audit.chain import (
    RECORD_COLUMNS,
    digest_of,
    link_of,
    normalise,
    record_text,
)

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TEXT = 100_000
MAX_RAW_BYTES = 64 * 1024
BROKEN = "broken"
OK = "ok"


class BatchRefused(ValueError):
    """The batch is not applied, with the reason and the HTTP status to answer."""

    def __init__(self, message: str, status: int = 422, *, flag: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.flag = flag


@dataclass(frozen=True)
class Applied:
    chain_seq: int
    chain_link: str
    events: int
    jobs: int
    repeated: bool


def parse_time(text: Any) -> datetime:
    """An HHT time as a timestamp for partitioning (the epoch when it does not read)."""
    if not isinstance(text, str) or not text:
        return EPOCH
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return EPOCH
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _list(batch: dict[str, Any], key: str, cap: int) -> list[Any]:
    value = batch.get(key) or []
    if not isinstance(value, list):
        raise BatchRefused(f"{key} is not a list")
    if len(value) > cap:
        raise BatchRefused(f"{key}: {len(value)} items, over the cap of {cap}")
    for item in value:
        if not isinstance(item, dict):
            raise BatchRefused(f"{key} holds an item that is not an object")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BatchRefused(f"{what} is not a whole number")
    return value


def _raw(value: Any, what: str) -> bytes:
    try:
        data = protocol.unb64(value, what)
    except protocol.ProtocolError as exc:
        raise BatchRefused(str(exc)) from None
    if len(data) > MAX_RAW_BYTES:
        raise BatchRefused(f"{what} is over {MAX_RAW_BYTES} bytes")
    return data


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) > MAX_TEXT:
        raise BatchRefused(f"a text field is over {MAX_TEXT} characters")
    return text


def _check_event_links(events: list[dict[str, Any]], prev_link: str) -> str | None:
    """Why the events' links do not compute from their records; None when they all do."""
    link = prev_link
    for event in events:
        try:
            row = normalise(event)
        except (TypeError, ValueError):
            return f"event {event.get('seq')} has a field of the wrong kind"
        record = record_text([row[column] for column in RECORD_COLUMNS])
        if record is None:
            return f"event {event.get('seq')} does not make a record"
        if event.get("prev_hash") != link:
            return f"event {row['seq']} does not follow the event before it"
        expected = link_of(link, digest_of(record))
        if event.get("hash") != expected:
            return f"event {row['seq']}'s link does not compute from its record"
        link = expected
    return None


def _events(
    conn: psycopg.Connection, hht: dict[str, Any], batch: dict[str, Any]
) -> tuple[list[dict[str, Any]], str]:
    """The new events of ``batch`` (checked) and the link they end on."""
    events = _list(batch, "events", protocol.MAX_EVENTS_PER_BATCH)
    held_seq, held_link = int(hht["chain_seq"]), str(hht["chain_link"])
    for n, event in enumerate(events):
        seq = _int(event.get("seq"), "an event's seq")
        if n and seq != events[n - 1]["seq"] + 1:
            raise BatchRefused("the batch's events are not consecutive")
    old = [e for e in events if e["seq"] <= held_seq]
    new = [e for e in events if e["seq"] > held_seq]
    if old:
        stored = {
            r["seq"]: r["hash"]
            for r in conn.execute(
                "SELECT seq, hash FROM events WHERE hht_id = %s AND seq BETWEEN %s AND %s",
                [hht["id"], old[0]["seq"], old[-1]["seq"]],
            )
        }
        for event in old:
            if stored.get(event["seq"]) != event.get("hash"):
                raise BatchRefused(
                    f"event {event['seq']} differs from the one the fleet holds: the HHT's "
                    "event log was changed",
                    flag=True,
                )
    if not new:
        return [], held_link
    if new[0]["seq"] != held_seq + 1:
        raise BatchRefused(
            f"the batch starts at event {new[0]['seq']} but the fleet holds events up to "
            f"{held_seq}: sync again from the fleet's state",
            409,
        )
    why = _check_event_links(new, held_link)
    if why:
        raise BatchRefused(f"the chain is broken: {why}", flag=True)
    return new, str(new[-1]["hash"])


def _months(times: list[datetime]) -> list[date]:
    return [month_start(t) for t in times if in_window(month_start(t))]


def _insert_events(conn: psycopg.Connection, hht_id: str, events: list[dict[str, Any]]) -> None:
    rows = []
    for e in events:
        row = normalise(e)
        rows.append(
            [
                hht_id,
                row["seq"],
                parse_time(row["at"]),
                row["at"] or "",
                row["id"],
                row["job_id"],
                _text(row["kind"]),
                _text(row["message"]),
                _text(row["data"]),
                _text(row["actor"]),
                _text(row["time_source"]),
                row["time_uncertainty_s"],
                row["time_offset_s"],
                e["prev_hash"],
                e["hash"],
            ]
        )
    with (
        conn.cursor() as cur,
        cur.copy(  # new events only (checked above): COPY, the fastest way in
            "COPY events (hht_id, seq, at, at_text, id, job_id, kind, message, data, actor, "
            "time_source, time_uncertainty_s, time_offset_s, prev_hash, hash) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _value(item: dict[str, Any], key: str) -> Any:
    value = item.get(key)
    if isinstance(value, (dict, list)):
        raise BatchRefused(f"{key} is not a plain value")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise BatchRefused(f"{key} is over {MAX_TEXT} characters")
    return value


_JOB_FIELDS = (
    "work_pack",
    "site",
    "address",
    "mpxn",
    "supplier_eui",
    "appointment",
    "installer",
    "status",
    "status_message",
    "pause_reason",
    "expected_hub_id",
    "connected_hub_id",
    "created_at",
    "started_at",
    "finished_at",
    "abort_reason",
    "abort_note",
    "hub_install",
    "hub_status_unload_id",
)
_SR_FIELDS = (
    "id",
    "job_id",
    "seq",
    "service_reference",
    "service_reference_variant",
    "use_case",
    "title",
    "duis_request_id",
    "command_variant",
    "state",
)
_COMMAND_FIELDS = (
    "id",
    "job_id",
    "service_request_id",
    "seq",
    "counter",
    "message_code",
    "use_case",
    "originator",
    "recipient",
    "device_role",
    "state",
    "attempts",
    "outcome",
    "outcome_reason",
    "last_error",
    "sent_at",
    "answered_at",
    "duis_request_id",
)
_RESPONSE_FIELDS = (
    "id",
    "command_id",
    "job_id",
    "sha256",
    "kind",
    "counter",
    "message_code",
    "originator",
    "recipient",
    "outcome",
    "outcome_reason",
    "signature",
    "route",
    "received_at",
    "duplicate_of",
    "received_unload_id",
)


def _upsert(
    conn: psycopg.Connection, table: str, key: tuple[str, ...], rows: list[dict[str, Any]]
) -> None:
    """Insert ``rows`` (all with the same columns), replacing those whose ``key`` is held."""
    if not rows:
        return
    columns = list(rows[0])
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            f"({', '.join('%s' for _ in columns)}) ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
            f"{updates}",
            [[row[c] for c in columns] for row in rows],
        )


def _response_row(hht_id: str, item: dict[str, Any]) -> dict[str, Any]:
    row = {f: _value(item, f) for f in _RESPONSE_FIELDS}
    _int(row["id"], "a response id")
    return {
        "hht_id": hht_id,
        **row,
        "raw": _raw(item.get("raw"), "a response's raw"),
        "received": parse_time(row["received_at"]),
    }


def _job(conn: psycopg.Connection, hht_id: str, snapshot: dict[str, Any], as_of: int) -> bool:
    """Replace the fleet's copy of one job when ``snapshot`` is at least as new; whether it
    did."""
    job = snapshot.get("job")
    if not isinstance(job, dict) or not isinstance(job.get("id"), str):
        raise BatchRefused("a job snapshot has no job")
    job_id = job["id"]
    for key in ("service_requests", "commands", "responses"):
        _list(snapshot, key, protocol.MAX_REGISTER_ROWS)
    held = conn.execute(
        "SELECT as_of FROM jobs WHERE hht_id = %s AND id = %s", [hht_id, job_id]
    ).fetchone()
    if held is not None and held["as_of"] > as_of:
        return False
    fields = {f: _value(job, f) for f in _JOB_FIELDS}
    for required in ("site", "mpxn", "supplier_eui", "status"):
        if not isinstance(fields[required], str):
            raise BatchRefused(f"job {job_id[:40]} has no {required}")
    created = parse_time(fields["created_at"])
    commands = snapshot["commands"]
    responses = snapshot["responses"]
    answered = len({r.get("command_id") for r in responses if r.get("command_id") is not None})
    _upsert(
        conn,
        "jobs",
        ("hht_id", "id"),
        [
            {
                "hht_id": hht_id,
                "id": job_id,
                **fields,
                "sort_at": created,
                "commands": len(commands),
                "answered": answered,
                "digest": str(snapshot.get("digest", ""))[:64],
                "as_of": as_of,
                "synced_at": datetime.now(UTC),
            }
        ],
    )
    service_requests = []
    for item in snapshot["service_requests"]:
        row = {f: _value(item, f) for f in _SR_FIELDS}
        _int(row["id"], "a service request id")
        row["job_id"] = job_id
        service_requests.append({"hht_id": hht_id, **row})
    _upsert(conn, "service_requests", ("hht_id", "id"), service_requests)
    command_rows = []
    for item in commands:
        row = {f: _value(item, f) for f in _COMMAND_FIELDS}
        _int(row["id"], "a command id")
        row["job_id"] = job_id
        command_rows.append(
            {
                "hht_id": hht_id,
                **row,
                "job_created": created,
                "raw": _raw(item.get("raw"), "a command's raw"),
            }
        )
    _upsert(conn, "commands", ("hht_id", "id", "job_created"), command_rows)
    response_rows = []
    for item in responses:
        row = _response_row(hht_id, item)
        row["job_id"] = job_id
        response_rows.append(row)
    _upsert(conn, "responses", ("hht_id", "id", "received"), response_rows)
    return True


def _registers(conn: psycopg.Connection, hht_id: str, regs: dict[str, Any]) -> None:
    tables = {
        "no_wan": ("no_wan", ("mpxn", "site", "reported_at", "note", "source")),
        "unloads": (
            "hht_unloads",
            (
                "id",
                "supplier_eui",
                "created_at",
                "created_by",
                "file_name",
                "sha256",
                "responses",
                "hub_statuses",
                "confirmed_at",
                "confirmed_by",
            ),
        ),
        "unload_items": ("hht_unload_items", ("unload_id", "kind", "ref", "request_id")),
    }
    for key, (table, fields) in tables.items():
        items = _list(regs, key, protocol.MAX_REGISTER_ROWS)
        conn.execute(f"DELETE FROM {table} WHERE hht_id = %s", [hht_id])
        rows = []
        for item in items:
            rows.append([hht_id, *(_value(item, f) for f in fields)])
        if rows:
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {table} (hht_id, {', '.join(fields)}) VALUES "
                    f"(%s, {', '.join('%s' for _ in fields)}) ON CONFLICT DO NOTHING",
                    rows,
                )
    _users(conn, hht_id, _list(regs, "users", protocol.MAX_REGISTER_ROWS))
    for item in _list(regs, "suppliers", protocol.MAX_REGISTER_ROWS):
        eui = _value(item, "eui")
        if not isinstance(eui, str):
            raise BatchRefused("a supplier has no EUI")
        conn.execute(
            "INSERT INTO suppliers (eui, name, certificate_pem, dcc_eui) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (eui) DO UPDATE SET name = excluded.name, "
            "certificate_pem = coalesce(excluded.certificate_pem, suppliers.certificate_pem), "
            "dcc_eui = coalesce(excluded.dcc_eui, suppliers.dcc_eui), seen_at = now()",
            [eui, _value(item, "name"), _value(item, "certificate_pem"), _value(item, "dcc_eui")],
        )
    conn.execute(
        "UPDATE hhts SET registers_digest = %s WHERE id = %s",
        [str(regs.get("digest", ""))[:64], hht_id],
    )


def _users(conn: psycopg.Connection, hht_id: str, items: list[dict[str, Any]]) -> None:
    """The HHT's users, each with when a sync first showed its newest login (the fleet's
    clock): unchanged when the HHT reports no newer login than before (the same one, or none
    once its sessions ended: a logout does not make the HHT theirs)."""
    rows = []
    for item in items:
        username = _value(item, "username")
        if not isinstance(username, str) or not username:
            raise BatchRefused("a user has no name")
        last_seen = _value(item, "last_seen")
        if last_seen is not None and not isinstance(last_seen, (int, float)):
            raise BatchRefused(f"user {username[:40]}'s last_seen is not a number")
        rows.append(
            [
                hht_id,
                username,
                _value(item, "display_name"),
                _value(item, "role"),
                bool(_value(item, "disabled")),
                last_seen,
            ]
        )
    conn.execute(
        "DELETE FROM hht_users WHERE hht_id = %s AND NOT (username = ANY(%s))",
        [hht_id, [r[1] for r in rows]],
    )
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO hht_users (hht_id, username, display_name, role, disabled, "
                "last_seen) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (hht_id, username) DO "
                "UPDATE SET display_name = excluded.display_name, role = excluded.role, "
                "disabled = excluded.disabled, "
                "last_seen = greatest(hht_users.last_seen, excluded.last_seen), "
                "active_at = CASE WHEN excluded.last_seen > coalesce(hht_users.last_seen, 0) "
                "THEN now() ELSE hht_users.active_at END",
                rows,
            )


def flag(conn: psycopg.Connection, hht_id: str, problem: str) -> None:
    """Mark the HHT's chain broken (in a transaction of its own)."""
    with conn.transaction():
        conn.execute(
            "UPDATE hhts SET chain_state = %s, chain_problem = %s, "
            "chain_flagged_at = coalesce(chain_flagged_at, now()) WHERE id = %s",
            [BROKEN, problem[:2000], hht_id],
        )
    log.error("HHT %s: batch refused, chain flagged: %s", hht_id, problem)


def apply_batch(
    conn: psycopg.Connection, hht_id: str, body: bytes, batch: dict[str, Any]
) -> Applied:
    """Check and apply ``batch`` (already verified as signed by ``hht_id``)."""
    if batch.get("format") != protocol.BATCH_FORMAT:
        raise BatchRefused(f"not a {protocol.BATCH_FORMAT} batch")
    seq = _int(batch.get("seq"), "the batch's seq")
    as_of = _int(batch.get("as_of"), "the batch's as_of")
    events_in = _list(batch, "events", protocol.MAX_EVENTS_PER_BATCH)
    jobs = _list(batch, "jobs", protocol.MAX_JOBS_PER_BATCH)
    loose = _list(batch, "loose", protocol.MAX_LOOSE_PER_BATCH)
    times = [parse_time(e.get("at")) for e in events_in]
    times += [parse_time((j.get("job") or {}).get("created_at")) for j in jobs]
    times += [parse_time(r.get("received_at")) for j in jobs for r in (j.get("responses") or [])]
    times += [parse_time(r.get("received_at")) for r in loose]
    ensure_partitions(conn, _months(times))
    digest = hashlib.sha256(body).hexdigest()
    try:
        with conn.transaction():
            hht = conn.execute(
                "SELECT id, chain_seq, chain_link, chain_state, revoked_at, hht_head_seq "
                "FROM hhts WHERE id = %s FOR UPDATE",
                [hht_id],
            ).fetchone()
            if hht is None or hht["revoked_at"] is not None:
                raise BatchRefused(f"{hht_id} is not enrolled here", 403)
            if hht["chain_state"] == BROKEN:
                raise BatchRefused(
                    "this HHT's chain is flagged broken on the fleet: a supervisor must look "
                    "at it before anything more is accepted",
                    422,
                )
            new, link = _events(conn, hht, batch)
            if new:
                _insert_events(conn, hht_id, new)
            applied_jobs = sum(1 for j in jobs if _job(conn, hht_id, j, as_of))
            _upsert(
                conn,
                "responses",
                ("hht_id", "id", "received"),
                [_response_row(hht_id, item) for item in loose],
            )
            regs = batch.get("registers")
            if regs is not None:
                if not isinstance(regs, dict):
                    raise BatchRefused("registers is not an object")
                if as_of >= int(hht["hht_head_seq"]):
                    _registers(conn, hht_id, regs)
            health = batch.get("health")
            if isinstance(health, dict):
                conn.execute(
                    "UPDATE hhts SET health = %s, health_at = now() WHERE id = %s",
                    [json.dumps(health)[:MAX_TEXT], hht_id],
                )
            chain_seq = new[-1]["seq"] if new else int(hht["chain_seq"])
            conn.execute(
                "UPDATE hhts SET chain_seq = %s, chain_link = %s, last_sync_at = now(), "
                "hht_head_seq = greatest(hht_head_seq, %s), "
                "chain_state = CASE WHEN %s > 0 THEN 'ok' ELSE chain_state END WHERE id = %s",
                [chain_seq, link, as_of, chain_seq, hht_id],
            )
            repeated = conn.execute(
                "INSERT INTO sync_batches (hht_id, seq, sha256, events, jobs) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (hht_id, seq) DO UPDATE SET "
                "receipts = sync_batches.receipts + 1, last_at = now(), "
                "sha256 = excluded.sha256 RETURNING receipts",
                [hht_id, seq, digest, len(new), applied_jobs],
            ).fetchone()["receipts"]
    except BatchRefused as exc:
        if exc.flag:
            flag(conn, hht_id, str(exc))
        raise
    return Applied(chain_seq, link, len(new), applied_jobs, repeated > 1)
