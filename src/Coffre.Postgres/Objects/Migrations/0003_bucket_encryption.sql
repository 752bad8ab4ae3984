-- Buckets' default encryption (S3's PutBucketEncryption): what a write that asks for nothing gets. key_id is null
-- for the bucket's own key. A row is deleted with its bucket (TryDeleteEmptyBucketAsync).
CREATE TABLE catalog.bucket_encryption(
    bucket text COLLATE "C" PRIMARY KEY REFERENCES catalog.buckets(name),
    algorithm text NOT NULL,
    key_id text,
    bucket_key_enabled boolean NOT NULL);
