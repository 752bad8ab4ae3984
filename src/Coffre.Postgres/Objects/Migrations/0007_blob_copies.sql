-- Which backends hold each blob (issue 17): one row per copy, written in batches by the placement layer's ledger
-- (Coffre.Storage.Placement.BlobCopyLedger), set right by `coffre repair`. share: null for a whole copy, else the share
-- number of an erasure-coded blob (its shares live under the blob's key, one per backend).
CREATE TABLE catalog.blob_copies(
    blob text COLLATE "C" NOT NULL,
    backend text COLLATE "C" NOT NULL,
    share integer,
    PRIMARY KEY (blob, backend));
