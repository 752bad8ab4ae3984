#!/usr/bin/python3
"""S3 access control through boto3 (Debian's python3-boto3): ACLs, bucket policies, the public access block, object
ownership and anonymous requests (botocore.UNSIGNED). Run by AccessControlClientTests, and by hand against any S3
endpoint whose operator allows public access:
  boto3_access.py ENDPOINT BUCKET OWNER_ID OTHER_KEY OTHER_SECRET
(the main credentials from the usual AWS_* variables; OTHER_KEY a second access key that may write BUCKET). Asserts what
the S3 API reference documents; exits non-zero with the failed assertion otherwise."""
import json
import sys

import boto3
from botocore import UNSIGNED
from botocore.client import Config
from botocore.exceptions import ClientError

endpoint, bucket, owner_id, other_key, other_secret = sys.argv[1:6]
config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=config)
other = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=config,
                     aws_access_key_id=other_key, aws_secret_access_key=other_secret)
anon = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                    config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def error(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{call.__name__}({kwargs}) succeeded")


def grants(acl):
    return sorted((g["Grantee"].get("ID") or g["Grantee"].get("URI"), g["Permission"]) for g in acl["Grants"])


def read(client, key, **kwargs):
    return client.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


s3.create_bucket(Bucket=bucket)

# Defaults: the owner's full control; the public access block answers NoSuchPublicAccessBlockConfiguration (nothing
# configured) while all four flags apply, so a public ACL is refused and anonymous requests are denied.
acl = s3.get_bucket_acl(Bucket=bucket)
assert acl["Owner"]["ID"] == owner_id, acl["Owner"]
assert grants(acl) == [(owner_id, "FULL_CONTROL")], grants(acl)
assert error(s3.get_public_access_block, Bucket=bucket) == ("NoSuchPublicAccessBlockConfiguration", 404)
assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerPreferred"}]
s3.put_object(Bucket=bucket, Key="private", Body=b"secret")
assert error(s3.put_object, Bucket=bucket, Key="public", Body=b"hello", ACL="public-read") == ("AccessDenied", 403)
assert error(anon.get_object, Bucket=bucket, Key="private") == ("AccessDenied", 403)
assert error(anon.get_object, Bucket="no-such-bucket-anywhere", Key="x") == ("NoSuchBucket", 404)

# Lift the bucket's public access block: a public-read object is readable anonymously, a private one is not.
s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
    "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
    "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
s3.put_object(Bucket=bucket, Key="public", Body=b"hello", ACL="public-read")
assert grants(s3.get_object_acl(Bucket=bucket, Key="public")) == sorted([(owner_id, "FULL_CONTROL"), (ALL_USERS, "READ")])
assert read(anon, "public") == b"hello"
assert anon.head_object(Bucket=bucket, Key="public")["ContentLength"] == 5
assert error(anon.get_object, Bucket=bucket, Key="private") == ("AccessDenied", 403)
assert error(anon.list_objects_v2, Bucket=bucket) == ("AccessDenied", 403)
assert error(anon.list_buckets) == ("AccessDenied", 403)

# Grants by header and by AccessControlPolicy body; canned and grant headers together are refused.
s3.put_bucket_acl(Bucket=bucket, GrantRead=f'uri="{ALL_USERS}"', GrantFullControl=f'id="{owner_id}"')
assert sorted(o["Key"] for o in anon.list_objects_v2(Bucket=bucket)["Contents"]) == ["private", "public"]
assert error(s3.put_bucket_acl, Bucket=bucket, ACL="private", GrantRead=f'uri="{ALL_USERS}"') == ("InvalidRequest", 400)
assert error(s3.put_bucket_acl, Bucket=bucket, GrantRead='emailAddress="someone@example.org"') == ("UnresolvableGrantByEmailAddress", 400)
assert error(s3.put_bucket_acl, Bucket=bucket, GrantRead='uri="http://acs.amazonaws.com/groups/global/Nobody"') == ("InvalidArgument", 400)
s3.put_object_acl(Bucket=bucket, Key="private", AccessControlPolicy={
    "Owner": {"ID": owner_id},
    "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": owner_id}, "Permission": "FULL_CONTROL"},
               {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"}]})
assert read(anon, "private") == b"secret"
s3.put_object_acl(Bucket=bucket, Key="private", ACL="private")
assert error(anon.get_object, Bucket=bucket, Key="private") == ("AccessDenied", 403)
s3.put_bucket_acl(Bucket=bucket, ACL="private")

# A copy takes the ACL its request names, never its source's.
s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "public"})
assert error(anon.get_object, Bucket=bucket, Key="copy") == ("AccessDenied", 403)
s3.copy_object(Bucket=bucket, Key="copy-public", CopySource={"Bucket": bucket, "Key": "public"}, ACL="public-read")
assert read(anon, "copy-public") == b"hello"

# Object ACLs follow versions.
s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
v1 = s3.put_object(Bucket=bucket, Key="versioned", Body=b"one", ACL="public-read")["VersionId"]
s3.put_object(Bucket=bucket, Key="versioned", Body=b"two")
assert read(anon, "versioned", VersionId=v1) == b"one"
assert error(anon.get_object, Bucket=bucket, Key="versioned") == ("AccessDenied", 403)
assert (ALL_USERS, "READ") in grants(s3.get_object_acl(Bucket=bucket, Key="versioned", VersionId=v1))
assert (ALL_USERS, "READ") not in grants(s3.get_object_acl(Bucket=bucket, Key="versioned"))

# Multipart: the ACL asked at creation is the completed object's.
upload = s3.create_multipart_upload(Bucket=bucket, Key="multipart", ACL="public-read")["UploadId"]
etag = s3.upload_part(Bucket=bucket, Key="multipart", UploadId=upload, PartNumber=1, Body=b"parts")["ETag"]
s3.complete_multipart_upload(Bucket=bucket, Key="multipart", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
assert read(anon, "multipart") == b"parts"

# A bucket policy: "*" allowed to read a prefix; evaluated, public as S3 judges it, and gone when deleted.
s3.put_object(Bucket=bucket, Key="pub/page", Body=b"page")
s3.put_bucket_policy(Bucket=bucket, Policy=policy(
    {"Sid": "read", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/pub/*"}))
assert read(anon, "pub/page") == b"page"
assert error(anon.get_object, Bucket=bucket, Key="private") == ("AccessDenied", 403)
assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"][0]["Sid"] == "read"
assert error(s3.put_bucket_policy, Bucket=bucket, Policy=policy(
    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
     "Condition": {"StringFoo": {"aws:Referer": "x"}}})) == ("MalformedPolicy", 400)
assert error(s3.put_bucket_policy, Bucket=bucket, Policy="{not json") == ("MalformedPolicy", 400)
assert error(s3.put_bucket_policy, Bucket=bucket, Policy=policy(
    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::another-bucket/*"})) == ("MalformedPolicy", 400)

# RestrictPublicBuckets: a public policy no longer serves anonymous requests.
s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
    "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": True})
assert error(anon.get_object, Bucket=bucket, Key="pub/page") == ("AccessDenied", 403)
# IgnorePublicAcls: public ACLs stop counting.
s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
    "BlockPublicAcls": False, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": False})
assert error(anon.get_object, Bucket=bucket, Key="public") == ("AccessDenied", 403)
assert error(s3.put_bucket_policy, Bucket=bucket, Policy=policy(
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": f"arn:aws:s3:::{bucket}/*"})) == ("AccessDenied", 403)
s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
    "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})

# A Deny narrows an access key's grants (never widens them): the other key may read but no longer write.
s3.put_bucket_policy(Bucket=bucket, Policy=policy(
    {"Effect": "Deny", "Principal": {"AWS": [other_key]}, "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": f"arn:aws:s3:::{bucket}/*"}))
assert read(other, "private") == b"secret"
assert error(other.put_object, Bucket=bucket, Key="by-other", Body=b"x") == ("AccessDenied", 403)
s3.put_object(Bucket=bucket, Key="by-owner", Body=b"x")
assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
s3.delete_bucket_policy(Bucket=bucket)
assert error(s3.get_bucket_policy, Bucket=bucket) == ("NoSuchBucketPolicy", 404)
other.put_object(Bucket=bucket, Key="by-other", Body=b"x")

# Anonymous writes where the bucket ACL allows them (public-read-write).
s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
anon.put_object(Bucket=bucket, Key="dropped", Body=b"anonymous upload")
assert read(s3, "dropped") == b"anonymous upload"

# BucketOwnerEnforced disables ACLs, and is refused while the bucket's ACL grants others.
assert error(s3.put_bucket_ownership_controls, Bucket=bucket,
             OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}) == ("InvalidBucketAclWithObjectOwnership", 400)
s3.put_bucket_acl(Bucket=bucket, ACL="private")
s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
assert error(s3.put_object_acl, Bucket=bucket, Key="private", ACL="public-read") == ("AccessControlListNotSupported", 400)
s3.put_object_acl(Bucket=bucket, Key="private", ACL="bucket-owner-full-control")
assert error(anon.get_object, Bucket=bucket, Key="public") == ("AccessDenied", 403)  # its public-read ACL no longer counts
s3.delete_bucket_ownership_controls(Bucket=bucket)
assert read(anon, "public") == b"hello"
print("ok")
