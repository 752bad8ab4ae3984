"""Presigned URLs (query-string SigV4): a valid URL works; X-Amz-Expires above 604,800 seconds is
AuthorizationQueryParametersError (400); an expired URL and one dated in the future are AccessDenied (403).
From "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)"."""
import datetime
import urllib.request
import urllib.error

import botocore.auth
import pytest

from conftest import make_client


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def error_code(body):
    from xml.etree import ElementTree
    return ElementTree.fromstring(body).findtext("Code")


def presign_at(s3, bucket, when, expires):
    # botocore signs with the current time: sign as if at `when` by patching the clock it reads.
    real = botocore.auth.datetime.datetime

    class Frozen(real):
        @classmethod
        def utcnow(cls):
            return when.replace(tzinfo=None)

    botocore.auth.datetime.datetime = Frozen
    try:
        return s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=expires)
    finally:
        botocore.auth.datetime.datetime = real


@pytest.fixture
def signer(settings):
    return make_client(settings, signature_version="s3v4")


def test_presigned_get(signer, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"presigned")
    assert fetch(signer.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300)) == (200, b"presigned")


@pytest.mark.known_difference(moto="moto does not check X-Amz-Expires")
def test_expires_above_a_week(signer, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    status, body = fetch(signer.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=604801))
    assert (status, error_code(body)) == (400, "AuthorizationQueryParametersError")


@pytest.mark.known_difference(moto="moto does not check X-Amz-Date and X-Amz-Expires")
def test_expired(signer, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    an_hour_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    status, body = fetch(presign_at(signer, bucket, an_hour_ago, 60))
    assert (status, error_code(body)) == (403, "AccessDenied")
    assert b"Request has expired" in body


@pytest.mark.known_difference(moto="moto does not check X-Amz-Date and X-Amz-Expires")
def test_not_yet_valid(signer, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    tomorrow = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    status, body = fetch(presign_at(signer, bucket, tomorrow, 3600))
    assert (status, error_code(body)) == (403, "AccessDenied")
    assert b"Request is not valid yet" in body
