"""Objects: PutObject, GetObject (ranges, conditional requests), HeadObject, DeleteObject, user metadata and the
standard headers, CopyObject. From the S3 API reference of each operation."""
import datetime
import hashlib

import pytest

from conftest import code, error_of, headers, status

BODY = bytes(range(256)) * 40  # 10,240 bytes


def test_put_get_head_delete(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="a/b c", Body=BODY)
    md5 = hashlib.md5(BODY).hexdigest()
    assert put["ETag"] == f'"{md5}"'
    got = s3.get_object(Bucket=bucket, Key="a/b c")
    assert got["Body"].read() == BODY and got["ETag"] == put["ETag"] and got["ContentLength"] == len(BODY)
    head = s3.head_object(Bucket=bucket, Key="a/b c")
    assert head["ContentLength"] == len(BODY) and head["ETag"] == put["ETag"]
    assert status(s3.delete_object(Bucket=bucket, Key="a/b c")) == 204
    missing = error_of(s3.get_object, Bucket=bucket, Key="a/b c")
    assert (status(missing), code(missing)) == (404, "NoSuchKey")
    assert status(error_of(s3.head_object, Bucket=bucket, Key="a/b c")) == 404


def test_delete_missing_key_is_204(s3, bucket):
    assert status(s3.delete_object(Bucket=bucket, Key="never-written")) == 204


def test_overwrite_replaces(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"first")
    s3.put_object(Bucket=bucket, Key="k", Body=b"second")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"second"


def test_empty_object(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert put["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["ContentLength"] == 0 and got["Body"].read() == b""


def test_metadata_and_standard_headers(s3, bucket):
    s3.put_object(Bucket=bucket, Key="m", Body=b"x", Metadata={"colour": "blue", "Mixed-Case": "v a l"},
                  ContentType="text/plain", ContentEncoding="identity", ContentDisposition='attachment; filename="m.txt"',
                  CacheControl="no-cache", ContentLanguage="fr")
    head = s3.head_object(Bucket=bucket, Key="m")
    # User metadata names come back lower-cased (x-amz-meta-* headers are case-insensitive).
    assert head["Metadata"] == {"colour": "blue", "mixed-case": "v a l"}
    assert head["ContentType"] == "text/plain"
    assert head["ContentDisposition"] == 'attachment; filename="m.txt"'
    assert head["CacheControl"] == "no-cache" and head["ContentLanguage"] == "fr"


@pytest.mark.parametrize("range_header,expected", [
    ("bytes=0-9", BODY[0:10]),
    ("bytes=10-", BODY[10:]),
    ("bytes=-10", BODY[-10:]),
    ("bytes=100-99999", BODY[100:]),
])
def test_ranges(s3, bucket, range_header, expected):
    s3.put_object(Bucket=bucket, Key="r", Body=BODY)
    got = s3.get_object(Bucket=bucket, Key="r", Range=range_header)
    assert status(got) == 206
    assert got["Body"].read() == expected
    first = len(BODY) - len(expected) if range_header.startswith("bytes=-") else int(range_header[6:].split("-")[0])
    assert got["ContentRange"] == f"bytes {first}-{first + len(expected) - 1}/{len(BODY)}"


def test_range_not_satisfiable(s3, bucket):
    s3.put_object(Bucket=bucket, Key="r", Body=BODY)
    response = error_of(s3.get_object, Bucket=bucket, Key="r", Range=f"bytes={len(BODY)}-")
    assert (status(response), code(response)) == (416, "InvalidRange")


def test_conditional_get(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"conditional")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"conditional"
    assert status(error_of(s3.get_object, Bucket=bucket, Key="c", IfMatch='"0000"')) == 412
    assert status(error_of(s3.get_object, Bucket=bucket, Key="c", IfNoneMatch=etag)) == 304
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    assert status(error_of(s3.get_object, Bucket=bucket, Key="c", IfModifiedSince=future)) == 304
    assert status(error_of(s3.get_object, Bucket=bucket, Key="c", IfUnmodifiedSince=past)) == 412
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=past)["Body"].read() == b"conditional"


def test_conditional_head(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"conditional")["ETag"]
    assert status(error_of(s3.head_object, Bucket=bucket, Key="c", IfMatch='"0000"')) == 412
    assert status(error_of(s3.head_object, Bucket=bucket, Key="c", IfNoneMatch=etag)) == 304


def test_conditional_put_if_none_match(s3, raw, bucket):
    # PutObject If-None-Match: * — "uploads the object only if the object key name does not already exist".
    assert raw("PUT", f"/{bucket}/once", headers={"If-None-Match": "*"}, body=b"first").status == 200
    response = raw("PUT", f"/{bucket}/once", headers={"If-None-Match": "*"}, body=b"second")
    assert (response.status, response.code) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"first"


def test_copy_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=BODY, Metadata={"a": "1"}, ContentType="application/x-test")
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(BODY).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == BODY and got["Metadata"] == {"a": "1"} and got["ContentType"] == "application/x-test"


def test_copy_object_replacing_metadata(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Metadata={"a": "1"})
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"b": "2"})
    assert s3.head_object(Bucket=bucket, Key="dst")["Metadata"] == {"b": "2"}


def test_copy_onto_itself_without_change_is_refused(s3, bucket):
    # CopyObject: copying an object to itself needs a change (metadata, storage class, encryption...).
    s3.put_object(Bucket=bucket, Key="self", Body=b"x")
    response = error_of(s3.copy_object, Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"})
    assert (status(response), code(response)) == (400, "InvalidRequest")


@pytest.mark.known_difference(moto="moto ignores x-amz-copy-source-if-match")
def test_copy_conditions(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"x")["ETag"]
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}, CopySourceIfMatch=etag)
    response = error_of(s3.copy_object, Bucket=bucket, Key="dst2", CopySource={"Bucket": bucket, "Key": "src"},
                        CopySourceIfMatch='"0000"')
    assert (status(response), code(response)) == (412, "PreconditionFailed")


def test_copy_from_missing_source(s3, bucket):
    response = error_of(s3.copy_object, Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "missing"})
    assert (status(response), code(response)) == (404, "NoSuchKey")


@pytest.mark.known_difference(moto="moto accepts keys longer than 1,024 bytes")
def test_key_too_long(s3, bucket):
    response = error_of(s3.put_object, Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert (status(response), code(response)) == (400, "KeyTooLongError")


def test_unicode_key(s3, bucket):
    key = "dossier/été 😀 +&=?.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"unicode")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"unicode"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
