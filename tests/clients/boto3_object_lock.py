#!/usr/bin/python3
"""S3 Object Lock and lifecycle configuration through boto3 (Debian's python3-boto3) against an endpoint: run by
ObjectLockClientTests, and by hand against any S3 endpoint: boto3_object_lock.py ENDPOINT BUCKET (credentials from
the usual AWS_* variables; the key must not hold the governance bypass). Asserts what the S3 API reference documents;
exits non-zero with the failed assertion otherwise."""
import datetime
import sys

import boto3
from botocore.client import Config
from botocore.exceptions import ClientError

endpoint, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def error(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response
    raise AssertionError(f"{call.__name__}({kwargs}) succeeded")


def code(response):
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
    "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
rule = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
assert (rule["Mode"], rule["Days"]) == ("GOVERNANCE", 1), rule

until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
v = s3.put_object(Bucket=bucket, Key="backup.tar", Body=b"immutable", ObjectLockMode="COMPLIANCE",
                  ObjectLockRetainUntilDate=until)["VersionId"]
retention = s3.get_object_retention(Bucket=bucket, Key="backup.tar", VersionId=v)["Retention"]
assert retention["Mode"] == "COMPLIANCE" and abs((retention["RetainUntilDate"] - until).total_seconds()) < 1, retention
head = s3.head_object(Bucket=bucket, Key="backup.tar")
assert head["ObjectLockMode"] == "COMPLIANCE", head

# Deleting the locked version by id: refused, alone or in a batch; the governance bypass changes nothing.
assert code(error(s3.delete_object, Bucket=bucket, Key="backup.tar", VersionId=v)) == ("AccessDenied", 403)
batch = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "backup.tar", "VersionId": v}]})
assert [e["Code"] for e in batch["Errors"]] == ["AccessDenied"], batch
# Shortening COMPLIANCE: refused.
assert code(error(s3.put_object_retention, Bucket=bucket, Key="backup.tar", VersionId=v,
                  Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until - datetime.timedelta(days=1)}))[1] == 403
# A legal hold, on and off.
s3.put_object_legal_hold(Bucket=bucket, Key="backup.tar", VersionId=v, LegalHold={"Status": "ON"})
assert s3.get_object_legal_hold(Bucket=bucket, Key="backup.tar", VersionId=v)["LegalHold"]["Status"] == "ON"
s3.put_object_legal_hold(Bucket=bucket, Key="backup.tar", VersionId=v, LegalHold={"Status": "OFF"})
# A DELETE without a version id adds a delete marker; the version stays readable.
assert s3.delete_object(Bucket=bucket, Key="backup.tar")["DeleteMarker"] is True
assert s3.get_object(Bucket=bucket, Key="backup.tar", VersionId=v)["Body"].read() == b"immutable"
# Versioning cannot be suspended, nor the bucket deleted.
assert code(error(s3.put_bucket_versioning, Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})) == ("InvalidBucketState", 409)
assert code(error(s3.delete_bucket, Bucket=bucket)) == ("BucketNotEmpty", 409)
# GOVERNANCE (the default retention) with a bypass this key is not granted: refused.
g = s3.put_object(Bucket=bucket, Key="daily", Body=b"d")["VersionId"]
assert s3.get_object_retention(Bucket=bucket, Key="daily", VersionId=g)["Retention"]["Mode"] == "GOVERNANCE"
assert code(error(s3.delete_object, Bucket=bucket, Key="daily", VersionId=g, BypassGovernanceRetention=True))[1] == 403

# Lifecycle configuration round trip.
s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
    {"ID": "old", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30},
     "NoncurrentVersionExpiration": {"NoncurrentDays": 7}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}]})
rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
assert [(r["ID"], r["Filter"]["Prefix"], r["Expiration"]["Days"]) for r in rules] == [("old", "logs/", 30)], rules
assert code(error(s3.put_bucket_lifecycle_configuration, Bucket=bucket, LifecycleConfiguration={"Rules": [
    {"ID": "bad", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 0}}]})) == ("InvalidArgument", 400)
s3.delete_bucket_lifecycle(Bucket=bucket)
assert code(error(s3.get_bucket_lifecycle_configuration, Bucket=bucket)) == ("NoSuchLifecycleConfiguration", 404)
print("ok")
