-- RSA keys (docs/format.md §6.6): what each key's versions hold and what the key is for, in AWS KMS's words, as in
-- SQLite's keys.db (schema version 2). Every key made before is a symmetric ENCRYPT_DECRYPT key.
ALTER TABLE kms_keys ADD COLUMN key_spec text NOT NULL DEFAULT 'SYMMETRIC_DEFAULT';
ALTER TABLE kms_keys ADD COLUMN key_usage text NOT NULL DEFAULT 'ENCRYPT_DECRYPT';
