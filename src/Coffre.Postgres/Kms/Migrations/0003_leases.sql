-- Leases of background work (docs/format.md §6.8): one row per job; the holder renews it, another instance takes it
-- over once it has expired on the database's clock; token is the fencing token, raised at every change of holder.
CREATE TABLE kms_leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    token bigint NOT NULL CHECK (token >= 1),
    expires timestamptz NOT NULL
);
