-- S3 storage classes and tagging. Each object version and each multipart upload keeps its storage class in clear
-- (listings show it without a key; a placement policy may later map classes to backends). An object's tags are
-- sealed inside its metadata and need no column; a bucket's tags are a JSON array of {Key, Value}, deleted with it.
ALTER TABLE catalog.objects ADD COLUMN storage_class text NOT NULL DEFAULT 'STANDARD';
ALTER TABLE catalog.uploads ADD COLUMN storage_class text NOT NULL DEFAULT 'STANDARD';
CREATE TABLE catalog.bucket_tagging(
    bucket text COLLATE "C" PRIMARY KEY REFERENCES catalog.buckets(name),
    tags text NOT NULL);
