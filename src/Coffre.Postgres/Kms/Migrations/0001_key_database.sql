-- The key manager's database (docs/format.md §6.5): the same rows as SQLite's keys.db, the same texts for
-- times and states, so that `coffre store migrate` copies them as they are and the audit hashes stay valid.
CREATE TABLE kms_meta (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE kms_generation (id integer PRIMARY KEY CHECK (id = 1), value bigint NOT NULL);
INSERT INTO kms_generation (id, value) VALUES (1, 0);
CREATE TABLE kms_keys (
    id text PRIMARY KEY,
    name text NOT NULL UNIQUE,
    description text,
    created text NOT NULL,
    state text NOT NULL CHECK (state IN ('enabled', 'disabled', 'pending_destruction', 'destroyed')),
    state_before_destruction text CHECK (state_before_destruction IN ('enabled', 'disabled')),
    primary_version integer NOT NULL CHECK (primary_version >= 1),
    min_decryption_version integer NOT NULL CHECK (min_decryption_version >= 1),
    rotation_period_seconds bigint CHECK (rotation_period_seconds > 0),
    next_rotation text,
    destruction_date text,
    tags text NOT NULL DEFAULT '{}'
);
CREATE TABLE kms_key_versions (
    key_id text NOT NULL REFERENCES kms_keys (id),
    version integer NOT NULL CHECK (version >= 1),
    state text NOT NULL CHECK (state IN ('enabled', 'disabled', 'destroyed')),
    created text NOT NULL,
    destroyed text,
    material bytea,
    PRIMARY KEY (key_id, version),
    CHECK ((state = 'destroyed') = (material IS NULL))
);
CREATE TABLE kms_aliases (
    alias text PRIMARY KEY,
    key_id text NOT NULL REFERENCES kms_keys (id),
    created text NOT NULL
);
CREATE TABLE kms_audit (
    seq bigint PRIMARY KEY,
    time text NOT NULL,
    principal text NOT NULL,
    operation text NOT NULL,
    key_id text,
    key_name text,
    key_version integer,
    context text,
    result text NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL
);
CREATE INDEX kms_audit_key_id ON kms_audit (key_id);
CREATE INDEX kms_audit_time ON kms_audit (time);
-- The chain head: one row every appender locks (FOR UPDATE) while it chains its batch, so that instances writing
-- concurrently still produce one chain.
CREATE TABLE kms_audit_head (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL, hash bytea NOT NULL);
INSERT INTO kms_audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
CREATE TABLE kms_access_keys (
    id text PRIMARY KEY,
    description text,
    grants text NOT NULL,
    wrapped_secret bytea,
    created text NOT NULL,
    created_by text NOT NULL,
    updated text NOT NULL,
    revoked text,
    revision bigint NOT NULL CHECK (revision >= 1),
    CHECK ((revoked IS NULL) = (wrapped_secret IS NOT NULL))
);
CREATE TABLE kms_access_key_generation (id integer PRIMARY KEY CHECK (id = 1), value bigint NOT NULL);
INSERT INTO kms_access_key_generation (id, value) VALUES (1, 0);
CREATE TABLE kms_audit_signing_key (id integer PRIMARY KEY CHECK (id = 1), public_key bytea NOT NULL, wrapped_private_key bytea NOT NULL);
CREATE TABLE kms_audit_checkpoints (seq bigint PRIMARY KEY, hash bytea NOT NULL, time text NOT NULL, signature bytea NOT NULL);
CREATE TABLE kms_audit_checkpoint_chain (
    number bigint PRIMARY KEY, seq bigint NOT NULL, hash bytea NOT NULL, previous bytea NOT NULL,
    time text NOT NULL, signature bytea NOT NULL);
