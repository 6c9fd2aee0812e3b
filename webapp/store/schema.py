"""The HHT's tables, created and changed only through migrations."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("hht")


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    db["users"].create(
        {
            "id": int,
            "username": str,
            "display_name": str,
            "role": str,  # installer | supervisor
            "secret_hash": str,  # PIN for installers, password for supervisors
            "disabled": int,
            "failed_attempts": int,
            "locked_until": float,
            "created_at": str,
        },
        pk="id",
        not_null={"username", "role", "secret_hash"},
        defaults={"disabled": 0, "failed_attempts": 0},
    )
    db["users"].create_index(["username"], unique=True)
    db["auth_failures"].create({"id": int, "source": str, "at": float}, pk="id")
    db["auth_failures"].create_index(["source", "at"])

    db["suppliers"].create(
        {"eui": str, "name": str, "certificate_pem": str, "added_at": str}, pk="eui"
    )
    db["device_certificates"].create({"eui": str, "certificate_pem": str}, pk="eui")

    db["work_packs"].create(
        {
            "id": int,
            "name": str,
            "supplier_eui": str,
            "sha256": str,
            "source": str,
            "loaded_at": str,
        },
        pk="id",
        foreign_keys=[("supplier_eui", "suppliers", "eui")],
    )
    db["jobs"].create(
        {
            "id": str,
            "work_pack_id": int,
            "site": str,
            "address": str,
            "mpxn": str,
            "supplier_eui": str,
            "appointment": str,  # ISO date
            "assignee_id": int,
            "status": str,
            "status_message": str,
            "expected_hub_id": str,
            "device_set": str,  # JSON {hub, chf, esme, gsme, ihd}
            "connected_hub_id": str,
            "created_at": str,
            "started_at": str,
            "finished_at": str,
            "abort_reason": str,
            "abort_note": str,
        },
        pk="id",
        not_null={"site", "mpxn", "supplier_eui", "status", "expected_hub_id"},
        foreign_keys=[
            ("work_pack_id", "work_packs", "id"),
            ("supplier_eui", "suppliers", "eui"),
            ("assignee_id", "users", "id"),
        ],
    )
    for columns in (["status"], ["appointment"], ["mpxn"], ["assignee_id"], ["created_at"]):
        db["jobs"].create_index(columns)

    db["service_requests"].create(
        {
            "id": int,
            "job_id": str,
            "seq": int,
            "service_reference": str,  # DUIS service reference, e.g. 8.11
            "use_case": str,
            "title": str,
            "duis_request_id": str,
            "command_variant": int,
            "state": str,
        },
        pk="id",
        foreign_keys=[("job_id", "jobs", "id")],
    )
    db["service_requests"].create_index(["job_id", "seq"], unique=True)

    db["commands"].create(
        {
            "id": int,
            "job_id": str,
            "service_request_id": int,
            "seq": int,
            "raw": bytes,
            "counter": int,
            "message_code": int,
            "use_case": str,
            "originator": str,
            "recipient": str,
            "device_role": str,  # chf | gpf | esme | gsme | ihd
            "state": str,
            "attempts": int,
            "outcome": str,
            "outcome_reason": str,
            "last_error": str,
            "sent_at": str,
            "answered_at": str,
            "updated_at": str,
        },
        pk="id",
        defaults={"attempts": 0},
        foreign_keys=[("job_id", "jobs", "id"), ("service_request_id", "service_requests", "id")],
    )
    db["commands"].create_index(["job_id", "seq"], unique=True)
    db["commands"].create_index(["originator", "recipient", "counter", "message_code"], unique=True)

    db["responses"].create(
        {
            "id": int,
            "command_id": int,
            "job_id": str,
            "raw": bytes,
            "sha256": str,
            "kind": str,  # response | alert
            "counter": int,
            "message_code": int,
            "originator": str,
            "recipient": str,
            "outcome": str,
            "outcome_reason": str,
            "signature": str,
            "route": str,  # hht | wan
            "received_at": str,
            "duplicate_of": int,
        },
        pk="id",
        foreign_keys=[("command_id", "commands", "id"), ("job_id", "jobs", "id")],
    )
    db["responses"].create_index(["sha256"], unique=True)
    db["responses"].create_index(["command_id"])

    db["job_events"].create(
        {
            "id": int,
            "job_id": str,
            "at": str,
            "kind": str,
            "message": str,
            "data": str,  # JSON
            "actor": str,
            "prev_hash": str,
            "hash": str,
        },
        pk="id",
        foreign_keys=[("job_id", "jobs", "id")],
    )
    db["job_events"].create_index(["job_id", "id"])
    db.execute(
        """CREATE TRIGGER job_events_append_only_update BEFORE UPDATE ON job_events
           BEGIN SELECT RAISE(ABORT, 'job_events is append-only'); END"""
    )
    db.execute(
        """CREATE TRIGGER job_events_append_only_delete BEFORE DELETE ON job_events
           BEGIN SELECT RAISE(ABORT, 'job_events is append-only'); END"""
    )
    db["settings"].create({"key": str, "value": str}, pk="key")


@MIGRATIONS()
def m002_time_quality(db: Database) -> None:
    """Every job event says which clock stamped it and how good that clock was."""
    db["job_events"].add_column("time_source", str)
    db["job_events"].add_column("time_uncertainty_s", float)
    db["job_events"].add_column("time_offset_s", float)
    db["clock_samples"].create(
        {"id": int, "at": str, "source": str, "offset_s": float, "uncertainty_s": float},
        pk="id",
    )


@MIGRATIONS()
def m003_no_wan_register(db: Database) -> None:
    """Seed 4.1: sites where an install was aborted for want of WAN, from here or central."""
    db["no_wan_register"].create(
        {"mpxn": str, "site": str, "reported_at": str, "note": str, "source": str},
        pk="mpxn",
    )
