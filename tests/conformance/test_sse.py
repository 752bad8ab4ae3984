"""Server-side encryption headers: SSE-S3 (AES256) echoed on PUT/GET/HEAD/copy/multipart, SSE-C round trips and
their errors, GetBucketEncryption's default. From the S3 API reference and "Protecting data with server-side
encryption"."""
import base64
import hashlib
import os

import pytest

from conftest import code, error_of, headers, status


def test_sse_s3_echoed(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    assert s3.head_object(Bucket=bucket, Key="k")["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="k")["ServerSideEncryption"] == "AES256"
    copied = s3.copy_object(Bucket=bucket, Key="k2", CopySource={"Bucket": bucket, "Key": "k"}, ServerSideEncryption="AES256")
    assert copied["ServerSideEncryption"] == "AES256"
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ServerSideEncryption="AES256")
    assert upload["ServerSideEncryption"] == "AES256"


@pytest.mark.known_difference(moto="moto 5 answers ServerSideEncryptionConfigurationNotFoundError, as S3 did before 2023")
def test_default_bucket_encryption(s3, bucket):
    # Since January 2023 every bucket has SSE-S3 as its default encryption.
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


@pytest.mark.known_difference(moto="moto accepts any x-amz-server-side-encryption value")
def test_invalid_sse_algorithm(raw, bucket):
    response = raw("PUT", f"/{bucket}/k", headers={"x-amz-server-side-encryption": "ROT13"}, body=b"x")
    assert (response.status, response.code) == (400, "InvalidArgument")


def customer_key():
    key = os.urandom(32)
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


@pytest.mark.known_difference(moto="moto stores SSE-C objects without their key and echoes no SSE-C headers")
def test_sse_c_round_trip_and_errors(s3, bucket):
    key = customer_key()
    s3.put_object(Bucket=bucket, Key="c", Body=b"secret", **key)
    got = s3.get_object(Bucket=bucket, Key="c", **key)
    assert got["Body"].read() == b"secret" and got["SSECustomerAlgorithm"] == "AES256"
    assert got["SSECustomerKeyMD5"] == base64.b64encode(hashlib.md5(key["SSECustomerKey"]).digest()).decode()
    # Without the key: 400 InvalidRequest; with another key: 403 AccessDenied.
    assert status(error_of(s3.get_object, Bucket=bucket, Key="c")) == 400
    wrong = error_of(s3.get_object, Bucket=bucket, Key="c", **customer_key())
    assert status(wrong) == 403
    assert status(error_of(s3.head_object, Bucket=bucket, Key="c", **customer_key())) == 403


@pytest.mark.known_difference(moto="moto does not check the SSE-C key MD5")
def test_sse_c_bad_key_md5(raw, bucket):
    key = os.urandom(32)
    response = raw("PUT", f"/{bucket}/c", body=b"x", headers={
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
        "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(hashlib.md5(b"other").digest()).decode()})
    assert (response.status, response.code) == (400, "InvalidArgument")
