#!/usr/bin/python3
"""S3 object tagging, storage classes and GetObjectAttributes through boto3 (Debian's python3-boto3) against an
endpoint: run by TaggingClientTests, and by hand against any S3 endpoint: boto3_tagging.py ENDPOINT BUCKET
(credentials from the usual AWS_* variables). Asserts what the S3 API reference documents; exits non-zero with the
failed assertion otherwise."""
import sys

import boto3
from botocore.client import Config
from botocore.exceptions import ClientError

endpoint, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def tags(key, **kwargs):
    return [(t["Key"], t["Value"]) for t in s3.get_object_tagging(Bucket=bucket, Key=key, **kwargs)["TagSet"]]


def error(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{call.__name__}({kwargs}) succeeded")


s3.create_bucket(Bucket=bucket)

# Tags on PUT (the x-amz-tagging header), read back, counted on GET and HEAD, replaced and removed.
s3.put_object(Bucket=bucket, Key="doc", Body=b"body", Tagging="project=apollo&owner=ops%20team")
assert tags("doc") == [("project", "apollo"), ("owner", "ops team")], tags("doc")
assert s3.get_object(Bucket=bucket, Key="doc")["TagCount"] == 2
assert s3.head_object(Bucket=bucket, Key="doc")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
s3.put_object_tagging(Bucket=bucket, Key="doc", Tagging={"TagSet": [{"Key": "state", "Value": "final"}]})
assert tags("doc") == [("state", "final")]
s3.delete_object_tagging(Bucket=bucket, Key="doc")
assert tags("doc") == []
assert "TagCount" not in s3.get_object(Bucket=bucket, Key="doc")

# Copy: COPY keeps the source's tags, REPLACE takes the request's.
s3.put_object_tagging(Bucket=bucket, Key="doc", Tagging={"TagSet": [{"Key": "src", "Value": "1"}]})
s3.copy_object(Bucket=bucket, Key="kept", CopySource={"Bucket": bucket, "Key": "doc"})
assert tags("kept") == [("src", "1")]
s3.copy_object(Bucket=bucket, Key="replaced", CopySource={"Bucket": bucket, "Key": "doc"}, TaggingDirective="REPLACE", Tagging="dst=2")
assert tags("replaced") == [("dst", "2")]

# Limits.
assert error(s3.put_object_tagging, Bucket=bucket, Key="doc",
             Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}) == ("InvalidTag", 400)
assert error(s3.put_object_tagging, Bucket=bucket, Key="doc",
             Tagging={"TagSet": [{"Key": "aws:x", "Value": "v"}]}) == ("InvalidTag", 400)
assert error(s3.put_object, Bucket=bucket, Key="bad", Body=b"x", Tagging="k=" + "v" * 257) == ("InvalidTag", 400)

# Bucket tags.
assert error(s3.get_bucket_tagging, Bucket=bucket) == ("NoSuchTagSet", 404)
s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "storage"}]})
assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "storage"}]
s3.delete_bucket_tagging(Bucket=bucket)
assert error(s3.get_bucket_tagging, Bucket=bucket) == ("NoSuchTagSet", 404)

# Storage classes: stored, answered on HEAD (not for STANDARD), listed; a copy onto itself may change only the class.
s3.put_object(Bucket=bucket, Key="cold", Body=b"c", StorageClass="GLACIER_IR")
assert s3.head_object(Bucket=bucket, Key="cold")["StorageClass"] == "GLACIER_IR"
assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="doc")
listed = {o["Key"]: o["StorageClass"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
assert listed["cold"] == "GLACIER_IR" and listed["doc"] == "STANDARD", listed
s3.copy_object(Bucket=bucket, Key="cold", CopySource={"Bucket": bucket, "Key": "cold"}, StorageClass="INTELLIGENT_TIERING")
assert s3.head_object(Bucket=bucket, Key="cold")["StorageClass"] == "INTELLIGENT_TIERING"
assert error(s3.put_object, Bucket=bucket, Key="bad", Body=b"x", StorageClass="TAPE") == ("InvalidStorageClass", 400)
upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", StorageClass="STANDARD_IA")["UploadId"]
assert s3.list_multipart_uploads(Bucket=bucket)["Uploads"][0]["StorageClass"] == "STANDARD_IA"
assert s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload)["StorageClass"] == "STANDARD_IA"
s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)

# GetObjectAttributes.
attributes = s3.get_object_attributes(Bucket=bucket, Key="cold", ObjectAttributes=["ETag", "ObjectSize", "StorageClass"])
assert (attributes["ObjectSize"], attributes["StorageClass"]) == (1, "INTELLIGENT_TIERING"), attributes
assert attributes["ETag"].strip('"') == s3.head_object(Bucket=bucket, Key="cold")["ETag"].strip('"')
print("ok")
