-- One row per object version whose S3 ACL was set (JSON, never queried inside); a version without a row has the
-- owner's full control. Deleted with its version, and when a new null version replaces the old one.
CREATE TABLE catalog.object_acls(
    bucket text COLLATE "C" NOT NULL,
    name bytea NOT NULL,
    version_id text COLLATE "C" NOT NULL,
    acl text NOT NULL,
    PRIMARY KEY(bucket, name, version_id));
