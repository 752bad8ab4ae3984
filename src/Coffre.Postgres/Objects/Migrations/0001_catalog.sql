-- The object catalog, version 1: the same tables as the SQLite catalog (catalog.db), in a schema of their own so
-- that they share a database with the key store without sharing names. Object and upload names are bytea (their
-- UTF-8 bytes): bytea compares byte by byte, which is S3's listing order and SQLite's (memcmp) — a text column would
-- compare under the database's collation. Text columns that are ordered use COLLATE "C" (byte order) for the same
-- reason. Times are Unix milliseconds, as in SQLite.
CREATE TABLE catalog.buckets(
    name text COLLATE "C" PRIMARY KEY,
    key_id text NOT NULL,
    created bigint NOT NULL);

CREATE TABLE catalog.objects(
    bucket text COLLATE "C" NOT NULL,
    name bytea NOT NULL,
    size bigint NOT NULL,
    etag text NOT NULL,
    modified bigint NOT NULL,
    key_id text COLLATE "C" NOT NULL,
    key_version integer NOT NULL,
    wrapped_key bytea NOT NULL,
    metadata bytea NOT NULL,
    parts text NOT NULL,
    PRIMARY KEY(bucket, name));
CREATE INDEX objects_by_key ON catalog.objects(key_id, key_version);

CREATE TABLE catalog.uploads(
    upload_id text COLLATE "C" PRIMARY KEY,
    bucket text COLLATE "C" NOT NULL,
    name bytea NOT NULL,
    created bigint NOT NULL,
    key_id text NOT NULL,
    key_version integer NOT NULL,
    wrapped_key bytea NOT NULL,
    metadata bytea NOT NULL);
CREATE INDEX uploads_by_bucket ON catalog.uploads(bucket, name);

CREATE TABLE catalog.upload_parts(
    upload_id text COLLATE "C" NOT NULL,
    number integer NOT NULL,
    part text NOT NULL,
    modified bigint NOT NULL,
    PRIMARY KEY(upload_id, number));

-- Blobs written but not (yet) referenced, and blobs no longer referenced: collected once older than the grace
-- period. A crash between writing a blob and committing its record leaves a row here.
CREATE TABLE catalog.garbage(
    blob text COLLATE "C" PRIMARY KEY,
    since bigint NOT NULL);
