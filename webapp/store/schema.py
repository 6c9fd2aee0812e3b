"""The HHT's tables, created and changed only through migrations."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from webapp.store.audit.migrate import start_chain

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


@MIGRATIONS()
def m004_work_packs(db: Database) -> None:
    """Work packs from suppliers: candidate device sets, unloads, survey files (issue 4)."""
    db["device_sets"].create(
        {
            "id": int,
            "job_id": str,
            "seq": int,
            "label": str,
            "hub_id": str,
            "devices": str,  # JSON {hub, gpf, chf, esme, gsme, ihd}
        },
        pk="id",
        foreign_keys=[("job_id", "jobs", "id")],
    )
    db["device_sets"].create_index(["job_id", "seq"], unique=True)
    db["device_sets"].create_index(["hub_id"])
    db["jobs"].add_column("device_set_id", int)  # the set chosen on site, NULL until then
    db["commands"].add_column("device_set_id", int)
    db["commands"].add_column("duis_request_id", str)
    db["commands"].create_index(["device_set_id", "seq"])
    db["service_requests"].add_column("service_reference_variant", str)
    # jobs loaded before work packs had exactly one device set: keep them runnable
    for job in list(db.query("SELECT id, expected_hub_id, device_set FROM jobs")):
        set_id = (
            db["device_sets"]
            .insert(
                {
                    "job_id": job["id"],
                    "seq": 1,
                    "label": "A",
                    "hub_id": job["expected_hub_id"],
                    "devices": job["device_set"] or "{}",
                }
            )
            .last_pk
        )
        db.execute("UPDATE commands SET device_set_id = ? WHERE job_id = ?", [set_id, job["id"]])
    for column, kind in (
        ("pack_id", str),
        ("signer_eui", str),
        ("jobs", int),
        ("loaded_by", str),
        ("return_counter_next", int),
    ):
        db["work_packs"].add_column(column, kind)
    db["suppliers"].add_column("not_after", str)
    db["suppliers"].add_column("fingerprint", str)
    db["suppliers"].add_column("dcc_eui", str)
    db["suppliers"].add_column("return_counter_next", int)
    db["unloads"].create(
        {
            "id": int,
            "supplier_eui": str,
            "created_at": str,
            "created_by": str,
            "file_name": str,
            "sha256": str,
            "responses": int,
            "hub_statuses": int,
            "confirmed_at": str,
            "confirmed_by": str,
        },
        pk="id",
        foreign_keys=[("supplier_eui", "suppliers", "eui")],
    )
    # one row per thing an unload carried; a thing is done when an unload holding it is confirmed
    db["unload_items"].create(
        {"unload_id": int, "kind": str, "ref": str, "request_id": str},
        pk=("unload_id", "kind", "ref"),
        foreign_keys=[("unload_id", "unloads", "id")],
    )
    db["unload_items"].create_index(["kind", "ref"])
    db["responses"].add_column("received_unload_id", int)  # set when the back office confirms
    db["jobs"].add_column("hub_status_unload_id", int)
    db["jobs"].add_column("hub_install", str)  # JSON: what the installer recorded for 8.14.x


@MIGRATIONS()
def m005_pause_reason(db: Database) -> None:
    """Why a paused job stopped, as a code (jobs.states.PauseReason); NULL when not paused."""
    db["jobs"].add_column("pause_reason", str)


#: Triggers that count every change to the trusted signing certificates.
_TRUST_TRIGGERS = {
    "suppliers_added": "AFTER INSERT ON suppliers",
    "suppliers_changed": "AFTER UPDATE OF certificate_pem ON suppliers",
    "suppliers_removed": "AFTER DELETE ON suppliers",
    "device_certificates_added": "AFTER INSERT ON device_certificates",
    "device_certificates_changed": "AFTER UPDATE OF certificate_pem ON device_certificates",
    "device_certificates_removed": "AFTER DELETE ON device_certificates",
}


@MIGRATIONS()
def m006_trust_version(db: Database) -> None:
    """One number that changes whenever a trusted certificate does, whichever process
    changed it: a running station reloads its certificates when it moves."""
    db.execute(
        "CREATE TABLE trust_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER)"
    )
    db.execute("INSERT INTO trust_version (id, version) VALUES (1, 0)")
    for name, event in _TRUST_TRIGGERS.items():
        db.execute(
            f"CREATE TRIGGER trust_{name} {event} BEGIN "
            "UPDATE trust_version SET version = version + 1 WHERE id = 1; END"
        )


@MIGRATIONS()
def m007_audit_chain(db: Database) -> None:
    """One keyed audit chain over every job event of the terminal (webapp.store.audit):
    the existing events re-chained from their content, then a start marker."""
    start_chain(db)


@MIGRATIONS()
def m008_sessions(db: Database) -> None:
    """Server-side sessions (the cookie holds only a token; a row holds the SHA-256 of it,
    so a copy of the database opens no session) and login failures per name and address.

    ``users.failed_attempts`` and ``users.locked_until`` are no longer used: a lock-out
    belongs to a name *and* the address that failed, so nobody else can lock a user out.
    """
    db["sessions"].create(
        {
            "id": str,  # SHA-256 hex of the cookie's 256-bit token
            "user_id": int,  # NULL: not logged in yet (the login form's CSRF token)
            "role": str,
            "created": float,  # epoch seconds
            "last_seen": float,
            "address": str,  # the client's address when the session began
            "agent": str,  # a short summary of the browser
            "csrf": str,
            "data": str,  # JSON: the rest of flask.session (flashed messages)
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
    )
    db["sessions"].create_index(["user_id"])
    db["sessions"].create_index(["last_seen"])
    db["login_failures"].create(
        {
            "username": str,  # as typed (normalised), whether or not such a user exists
            "address": str,
            "failures": int,  # in a row, from this address, for this name
            "first_at": float,
            "last_at": float,
            "locked_until": float,
        },
        pk=("username", "address"),
    )
    db["login_failures"].create_index(["last_at"])


@MIGRATIONS()
def m009_visit_kind(db: Database) -> None:
    """Maintenance visits (issue 18): a job's kind (install or maintenance), and the
    installer PIN the work pack carries for the meter's menu on that visit, a secret shown
    only to the assigned installer (never in events, logs, unloads or snapshots)."""
    db["jobs"].add_column("kind", str, not_null_default="install")
    db["jobs"].add_column("visit_pin", str)
