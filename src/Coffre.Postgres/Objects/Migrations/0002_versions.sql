-- The object catalog, version 2: object versions (S3 versioning). An objects row is one version of a name: an object
-- or a delete marker. Every existing object becomes its name's null version, latest, as S3 has it for a bucket that
-- was never versioned. The same shape as the SQLite catalog's schema version 2.
ALTER TABLE catalog.buckets ADD COLUMN versioning integer NOT NULL DEFAULT 0;

ALTER TABLE catalog.objects
    -- A name's versions by position: each new version takes one below the smallest, so the primary key's order is
    -- S3's listing order (names ascending, newest version first).
    ADD COLUMN seq bigint NOT NULL DEFAULT 0,
    ADD COLUMN version_id text COLLATE "C" NOT NULL DEFAULT 'null',
    ADD COLUMN is_latest boolean NOT NULL DEFAULT true,
    ADD COLUMN delete_marker boolean NOT NULL DEFAULT false;
ALTER TABLE catalog.objects DROP CONSTRAINT objects_pkey, ADD PRIMARY KEY(bucket, name, seq);
CREATE UNIQUE INDEX objects_by_version ON catalog.objects(bucket, name, version_id);
-- ListObjects reads current objects only: this index holds nothing else, so a page never scans past older versions
-- or delete markers.
CREATE INDEX objects_current ON catalog.objects(bucket, name) WHERE is_latest AND NOT delete_marker;
