"""The fleet office's first schema.

Every table of an HHT's data has the HHT's id first in its key, so the tables can later be
distributed on it (Citus) or read from replicas.  The three that grow without bound (events,
commands, responses) are partitioned by month (RANGE on a time the HHT gave, which never
changes for a row, so a repeated upsert finds the same partition); a DEFAULT partition takes
times outside the window partitions are made for (an HHT clock far off).
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None

GENESIS = "0" * 64

SCHEMA = f"""
CREATE TABLE hhts (
    id text PRIMARY KEY,
    name text NOT NULL UNIQUE,
    fingerprint text NOT NULL UNIQUE,
    certificate_pem text NOT NULL,
    not_after timestamptz,
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    enrolled_by text,
    revoked_at timestamptz,
    fleet_url text,
    last_sync_at timestamptz,
    hht_head_seq bigint NOT NULL DEFAULT 0,
    chain_seq bigint NOT NULL DEFAULT 0,
    chain_link text NOT NULL DEFAULT '{GENESIS}',
    chain_state text NOT NULL DEFAULT 'empty',
    chain_problem text,
    chain_flagged_at timestamptz,
    registers_digest text,
    health jsonb,
    health_at timestamptz
);

CREATE TABLE sync_challenges (
    hht_id text NOT NULL REFERENCES hhts(id),
    challenge text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hht_id, challenge)
);

CREATE TABLE sync_batches (
    hht_id text NOT NULL REFERENCES hhts(id),
    seq bigint NOT NULL,
    sha256 text NOT NULL,
    first_at timestamptz NOT NULL DEFAULT now(),
    last_at timestamptz NOT NULL DEFAULT now(),
    receipts integer NOT NULL DEFAULT 1,
    events integer NOT NULL,
    jobs integer NOT NULL,
    PRIMARY KEY (hht_id, seq)
);

CREATE TABLE events (
    hht_id text NOT NULL,
    seq bigint NOT NULL,
    at timestamptz NOT NULL,
    at_text text NOT NULL,
    id bigint NOT NULL,
    job_id text,
    kind text,
    message text,
    data text,
    actor text,
    time_source text,
    time_uncertainty_s double precision,
    time_offset_s double precision,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hht_id, seq, at)
) PARTITION BY RANGE (at);
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE INDEX events_job ON events (hht_id, job_id, seq);

CREATE TABLE jobs (
    hht_id text NOT NULL REFERENCES hhts(id),
    id text NOT NULL,
    work_pack text,
    site text NOT NULL,
    address text,
    mpxn text NOT NULL,
    supplier_eui text NOT NULL,
    appointment text,
    installer text,
    status text NOT NULL,
    status_message text,
    pause_reason text,
    expected_hub_id text,
    connected_hub_id text,
    created_at text,
    started_at text,
    finished_at text,
    abort_reason text,
    abort_note text,
    hub_install text,
    hub_status_unload_id bigint,
    sort_at timestamptz NOT NULL,
    commands integer NOT NULL DEFAULT 0,
    answered integer NOT NULL DEFAULT 0,
    digest text NOT NULL,
    as_of bigint NOT NULL,
    synced_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hht_id, id)
);
CREATE INDEX jobs_history ON jobs (sort_at DESC, hht_id DESC, id DESC);
CREATE INDEX jobs_hht ON jobs (hht_id, sort_at DESC, id DESC);
CREATE INDEX jobs_installer ON jobs (installer, sort_at DESC);
CREATE INDEX jobs_status ON jobs (status, sort_at DESC);
CREATE INDEX jobs_supplier ON jobs (supplier_eui, sort_at DESC);
CREATE INDEX jobs_mpxn ON jobs (mpxn);
CREATE INDEX jobs_site ON jobs (lower(site) text_pattern_ops);

CREATE TABLE service_requests (
    hht_id text NOT NULL,
    id bigint NOT NULL,
    job_id text NOT NULL,
    seq integer,
    service_reference text,
    service_reference_variant text,
    use_case text,
    title text,
    duis_request_id text,
    command_variant integer,
    state text,
    PRIMARY KEY (hht_id, id),
    FOREIGN KEY (hht_id, job_id) REFERENCES jobs (hht_id, id)
);

CREATE TABLE commands (
    hht_id text NOT NULL,
    id bigint NOT NULL,
    job_created timestamptz NOT NULL,
    job_id text NOT NULL,
    service_request_id bigint,
    seq integer,
    raw bytea NOT NULL,
    counter numeric(20),
    message_code integer,
    use_case text,
    originator text,
    recipient text,
    device_role text,
    state text,
    attempts integer,
    outcome text,
    outcome_reason text,
    last_error text,
    sent_at text,
    answered_at text,
    duis_request_id text,
    PRIMARY KEY (hht_id, id, job_created)
) PARTITION BY RANGE (job_created);
CREATE TABLE commands_default PARTITION OF commands DEFAULT;
CREATE INDEX commands_job ON commands (hht_id, job_id, seq);

CREATE TABLE responses (
    hht_id text NOT NULL,
    id bigint NOT NULL,
    received timestamptz NOT NULL,
    received_at text,
    command_id bigint,
    job_id text,
    raw bytea NOT NULL,
    sha256 text,
    kind text,
    counter numeric(20),
    message_code integer,
    originator text,
    recipient text,
    outcome text,
    outcome_reason text,
    signature text,
    route text,
    duplicate_of bigint,
    received_unload_id bigint,
    PRIMARY KEY (hht_id, id, received)
) PARTITION BY RANGE (received);
CREATE TABLE responses_default PARTITION OF responses DEFAULT;
CREATE INDEX responses_job ON responses (hht_id, job_id);
CREATE INDEX responses_command ON responses (hht_id, command_id);

CREATE TABLE no_wan (
    hht_id text NOT NULL REFERENCES hhts(id),
    mpxn text NOT NULL,
    site text,
    reported_at text,
    note text,
    source text,
    PRIMARY KEY (hht_id, mpxn)
);

CREATE TABLE hht_unloads (
    hht_id text NOT NULL REFERENCES hhts(id),
    id bigint NOT NULL,
    supplier_eui text,
    created_at text,
    created_by text,
    file_name text,
    sha256 text,
    responses integer,
    hub_statuses integer,
    confirmed_at text,
    confirmed_by text,
    PRIMARY KEY (hht_id, id)
);

CREATE TABLE hht_unload_items (
    hht_id text NOT NULL,
    unload_id bigint NOT NULL,
    kind text NOT NULL,
    ref text NOT NULL,
    request_id text,
    PRIMARY KEY (hht_id, unload_id, kind, ref)
);
CREATE INDEX hht_unload_items_ref ON hht_unload_items (hht_id, kind, ref);

CREATE TABLE hht_users (
    hht_id text NOT NULL REFERENCES hhts(id),
    username text NOT NULL,
    display_name text,
    role text,
    disabled boolean NOT NULL DEFAULT false,
    PRIMARY KEY (hht_id, username)
);
CREATE INDEX hht_users_name ON hht_users (username);

CREATE TABLE suppliers (
    eui text PRIMARY KEY,
    name text,
    certificate_pem text,
    dcc_eui text,
    return_counter_next numeric(20),
    seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE packs (
    id bigserial PRIMARY KEY,
    pack_id text NOT NULL,
    supplier_eui text,
    sha256 text NOT NULL UNIQUE,
    data bytea NOT NULL,
    hht_id text REFERENCES hhts(id),
    installer text,
    published_at timestamptz NOT NULL DEFAULT now(),
    published_by text,
    CHECK ((hht_id IS NULL) <> (installer IS NULL))
);

CREATE TABLE pack_deliveries (
    pack_id bigint NOT NULL REFERENCES packs(id),
    hht_id text NOT NULL REFERENCES hhts(id),
    state text NOT NULL,
    detail text,
    offered_at timestamptz NOT NULL DEFAULT now(),
    acked_at timestamptz,
    PRIMARY KEY (pack_id, hht_id)
);

CREATE TABLE central_unloads (
    id bigserial PRIMARY KEY,
    supplier_eui text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    file_name text,
    sha256 text,
    data bytea,
    responses integer NOT NULL DEFAULT 0,
    hub_statuses integer NOT NULL DEFAULT 0,
    confirmed_at timestamptz,
    confirmed_by text
);

CREATE TABLE central_unload_items (
    unload_id bigint NOT NULL REFERENCES central_unloads(id),
    hht_id text NOT NULL,
    kind text NOT NULL,
    ref text NOT NULL,
    request_id text NOT NULL,
    PRIMARY KEY (unload_id, hht_id, kind, ref)
);
CREATE INDEX central_unload_items_ref ON central_unload_items (hht_id, kind, ref);

CREATE TABLE users (
    id bigserial PRIMARY KEY,
    username text NOT NULL UNIQUE,
    display_name text,
    role text NOT NULL,
    secret_hash text NOT NULL,
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    id text PRIMARY KEY,
    user_id bigint REFERENCES users(id),
    role text,
    created double precision NOT NULL,
    last_seen double precision NOT NULL,
    address text,
    agent text,
    data text NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_failures (
    username text NOT NULL,
    address text NOT NULL,
    failures integer NOT NULL,
    last_at double precision NOT NULL,
    PRIMARY KEY (username, address)
);
"""


def upgrade() -> None:
    op.execute(SCHEMA)
