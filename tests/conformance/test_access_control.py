"""S3 access control as the API reference documents it, with each endpoint's default configuration (public access
allowed nowhere): bucket and object ACLs, canned ACLs and grant headers, bucket policies (validated, evaluated, status),
the public access block, object ownership, and anonymous requests."""
import json

import pytest

from conftest import code, error_of, status

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def grants(acl):
    return sorted((g["Grantee"].get("ID") or g["Grantee"].get("URI"), g["Permission"]) for g in acl["Grants"])


def test_a_new_bucket_and_object_give_their_owner_full_control(s3, bucket):
    acl = s3.get_bucket_acl(Bucket=bucket)
    owner = acl["Owner"]["ID"]
    assert grants(acl) == [(owner, "FULL_CONTROL")]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    object_acl = s3.get_object_acl(Bucket=bucket, Key="k")
    assert object_acl["Owner"]["ID"] == owner
    assert grants(object_acl) == [(owner, "FULL_CONTROL")]


def test_grant_headers_set_an_acl_read_back_as_grants(s3, bucket):
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_acl(Bucket=bucket, Key="k", GrantFullControl=f'id="{owner}"', GrantReadACP=f'id="{owner}"')
    assert grants(s3.get_object_acl(Bucket=bucket, Key="k")) == sorted([(owner, "FULL_CONTROL"), (owner, "READ_ACP")])


def test_canned_acl_and_grant_headers_together_are_refused(s3, bucket):
    response = error_of(s3.put_bucket_acl, Bucket=bucket, ACL="private", GrantRead=f'uri="{ALL_USERS}"')
    assert (code(response), status(response)) == ("InvalidRequest", 400)


@pytest.mark.known_difference(moto="moto stores an AccessControlPolicy body that is not XML and answers 200")
def test_a_malformed_acl_body_is_MalformedACLError(raw, bucket):
    response = raw("PUT", f"/{bucket}", {"acl": ""}, body=b"<AccessControlPolicy><unclosed>")
    assert (response.status, response.code) == (400, "MalformedACLError")


def test_public_access_block_round_trip_and_delete(s3, bucket):
    config = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True, "RestrictPublicBuckets": False}
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=config)
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == config
    s3.delete_public_access_block(Bucket=bucket)
    response = error_of(s3.get_public_access_block, Bucket=bucket)
    assert (code(response), status(response)) == ("NoSuchPublicAccessBlockConfiguration", 404)


@pytest.mark.known_difference(moto="moto stores the public access block but does not enforce it")
def test_block_public_acls_refuses_a_public_acl(s3, bucket):
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    response = error_of(s3.put_object_acl, Bucket=bucket, Key="k", ACL="public-read")
    assert (code(response), status(response)) == ("AccessDenied", 403)


@pytest.mark.known_difference(moto="moto does not evaluate bucket policies")
def test_a_policy_deny_is_evaluated_and_the_policy_reads_back(s3, bucket):
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "keep", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{bucket}/keep/*"}]}
    s3.put_object(Bucket=bucket, Key="keep/k", Body=b"x")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"][0]["Sid"] == "keep"
    response = error_of(s3.delete_object, Bucket=bucket, Key="keep/k")
    assert (code(response), status(response)) == ("AccessDenied", 403)
    s3.put_object(Bucket=bucket, Key="free", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="free")
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    s3.delete_bucket_policy(Bucket=bucket)
    s3.delete_object(Bucket=bucket, Key="keep/k")
    response = error_of(s3.get_bucket_policy, Bucket=bucket)
    assert (code(response), status(response)) == ("NoSuchBucketPolicy", 404)


@pytest.mark.parametrize("policy", [
    "{not json",
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other-bucket-entirely/*"}]}',
    '{"Version":"2012-10-17","Statement":[{"Effect":"Perhaps","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BUCKET/*"}]}',
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BUCKET/*","Condition":{"StringFoo":{"aws:Referer":"x"}}}]}',
])
@pytest.mark.known_difference(moto="moto accepts some policies AWS refuses as malformed")
def test_a_malformed_policy_is_MalformedPolicy(s3, bucket, policy):
    response = error_of(s3.put_bucket_policy, Bucket=bucket, Policy=policy.replace("BUCKET", bucket))
    assert (code(response), status(response)) == ("MalformedPolicy", 400)


@pytest.mark.known_difference(moto="moto has no Object Ownership enforcement of ACLs")
def test_bucket_owner_enforced_disables_acls(s3, bucket):
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="bucket-owner-full-control")
    response = error_of(s3.put_object_acl, Bucket=bucket, Key="k", GrantRead=f'uri="{ALL_USERS}"')
    assert (code(response), status(response)) == ("AccessControlListNotSupported", 400)


@pytest.mark.known_difference(moto="moto answers an unsigned request by its own rules, not S3's")
def test_anonymous_requests_are_denied_on_a_private_bucket_and_told_a_bucket_is_missing(s3, raw, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    denied = raw("GET", f"/{bucket}/k", sign=False)
    assert (denied.status, denied.code) == (403, "AccessDenied")
    missing = raw("GET", f"/{bucket}-missing/k", sign=False)
    assert (missing.status, missing.code) == (404, "NoSuchBucket")
