#!/usr/bin/python3
"""S3 versioning through boto3 (Debian's python3-boto3) against an endpoint: run by VersioningClientTests, and by
hand against any S3 endpoint: boto3_versioning.py ENDPOINT BUCKET (credentials from the usual AWS_* variables).
Asserts what the S3 API reference documents; exits non-zero with the failed assertion otherwise."""
import sys

import boto3
from botocore.client import Config
from botocore.exceptions import ClientError

endpoint, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def headers(response):
    return response["ResponseMetadata"]["HTTPHeaders"]


def error(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response
    raise AssertionError(f"{call.__name__}({kwargs}) succeeded")


s3.create_bucket(Bucket=bucket)
s3.put_object(Bucket=bucket, Key="dir/a b", Body=b"unversioned")

# A bucket never versioned: an empty configuration; its objects are null versions.
assert "Status" not in s3.get_bucket_versioning(Bucket=bucket), "never-versioned bucket has a Status"
listed = s3.list_object_versions(Bucket=bucket)
assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in listed["Versions"]] == [("dir/a b", "null", True)], listed

s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
v1 = s3.put_object(Bucket=bucket, Key="dir/a b", Body=b"first")["VersionId"]
v2 = s3.put_object(Bucket=bucket, Key="dir/a b", Body=b"second")["VersionId"]
assert v1 != v2 and "null" not in (v1, v2)
assert s3.get_object(Bucket=bucket, Key="dir/a b", VersionId=v1)["Body"].read() == b"first"
assert s3.get_object(Bucket=bucket, Key="dir/a b", VersionId="null")["Body"].read() == b"unversioned"
got = s3.get_object(Bucket=bucket, Key="dir/a b")
assert (got["Body"].read(), got["VersionId"]) == (b"second", v2)
assert s3.head_object(Bucket=bucket, Key="dir/a b", VersionId=v1)["ContentLength"] == 5

# A delete marker: GET of the key is 404 with x-amz-delete-marker, GET of the marker by id is 405.
marker = s3.delete_object(Bucket=bucket, Key="dir/a b")
assert marker["DeleteMarker"] is True
latest = error(s3.get_object, Bucket=bucket, Key="dir/a b")
assert latest["Error"]["Code"] == "NoSuchKey", latest
assert headers(latest)["x-amz-delete-marker"] == "true" and headers(latest)["x-amz-version-id"] == marker["VersionId"], headers(latest)
named = error(s3.head_object, Bucket=bucket, Key="dir/a b", VersionId=marker["VersionId"])
assert named["ResponseMetadata"]["HTTPStatusCode"] == 405 and headers(named)["x-amz-delete-marker"] == "true", named
assert "last-modified" in headers(named), headers(named)

# encoding-type=url asked for explicitly: botocore leaves the keys as sent, URL-encoded; without it, as written.
listed = s3.list_object_versions(Bucket=bucket, EncodingType="url")
assert [m["VersionId"] for m in listed["DeleteMarkers"]] == [marker["VersionId"]]
assert [(v["Key"], v["VersionId"]) for v in listed["Versions"]] == [("dir/a%20b", v2), ("dir/a%20b", v1), ("dir/a%20b", "null")], listed
assert [v["Key"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]] == ["dir/a b"] * 3
rolled = s3.list_object_versions(Bucket=bucket, Delimiter="/")
assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["dir/"] and "Versions" not in rolled, rolled

# Paging one version at a time with key and version-id markers walks every version once.
seen, kwargs = [], {}
while True:
    page = s3.list_object_versions(Bucket=bucket, MaxKeys=1, **kwargs)
    seen += [v["VersionId"] for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    if not page["IsTruncated"]:
        break
    kwargs = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
assert seen == [marker["VersionId"], v2, v1, "null"], seen

# Removing the marker by version id restores the object; delete_objects removes named versions.
s3.delete_object(Bucket=bucket, Key="dir/a b", VersionId=marker["VersionId"])
assert s3.get_object(Bucket=bucket, Key="dir/a b")["Body"].read() == b"second"
deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "dir/a b", "VersionId": v1}, {"Key": "dir/a b", "VersionId": "null"}]})
assert sorted(d["VersionId"] for d in deleted["Deleted"]) == sorted([v1, "null"]), deleted
assert error(s3.get_object, Bucket=bucket, Key="dir/a b", VersionId=v1)["Error"]["Code"] == "NoSuchVersion"

# Suspended: writes replace the null version, older versions stay.
s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
s3.put_object(Bucket=bucket, Key="dir/a b", Body=b"null 1")
s3.put_object(Bucket=bucket, Key="dir/a b", Body=b"null 2")
versions = s3.list_object_versions(Bucket=bucket)["Versions"]
assert [(v["VersionId"], v["IsLatest"]) for v in versions] == [("null", True), (v2, False)], versions

# MFA delete is not supported, and says so.
mfa = error(s3.put_bucket_versioning, Bucket=bucket, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"}, MFA="serial 123456")
assert mfa["Error"]["Code"] == "NotImplemented", mfa
print("ok")
