-- Bucket placement states (issue 17, `coffre migrate`): the backends a migration switched a bucket to, and the
-- migration under way, read by every instance about once a second. Both columns hold JSON text written by
-- Coffre.Storage.Placement.MigrationStates (the SQLite catalog's placement table holds the same texts).
CREATE TABLE catalog.placement(
    bucket text COLLATE "C" PRIMARY KEY,
    backends text,
    migration text);
