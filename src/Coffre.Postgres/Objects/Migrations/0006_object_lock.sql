-- Buckets' configuration documents (Object Lock, lifecycle), each stored whole as JSON under a name; deleted with
-- their bucket (TryDeleteEmptyBucketAsync).
CREATE TABLE catalog.bucket_settings(
    bucket text COLLATE "C" NOT NULL REFERENCES catalog.buckets(name),
    name text COLLATE "C" NOT NULL,
    value text NOT NULL,
    PRIMARY KEY(bucket, name));

-- One row per locked object version (S3 Object Lock); a version without a row has no lock. Deleted with its version.
CREATE TABLE catalog.object_locks(
    bucket text COLLATE "C" NOT NULL,
    name bytea NOT NULL,
    version_id text COLLATE "C" NOT NULL,
    mode text,
    retain_until bigint,
    legal_hold boolean NOT NULL,
    PRIMARY KEY(bucket, name, version_id));
