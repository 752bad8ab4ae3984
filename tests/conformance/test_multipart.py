"""Multipart uploads: Create, UploadPart, UploadPartCopy, ListParts, ListMultipartUploads, Complete (repeated
too), Abort, and their errors. From the S3 API reference of each operation."""
import hashlib

import pytest

from conftest import code, error_of, status

PART = 5 * 1024 * 1024  # the smallest part size but the last


def multipart_etag(parts):
    return '"' + hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + f'-{len(parts)}"'


def upload(s3, bucket, key, parts):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = [{"PartNumber": i + 1, "ETag": s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=i + 1, Body=p)["ETag"]}
            for i, p in enumerate(parts)]
    return upload_id, done


def test_upload_list_complete(s3, bucket):
    parts = [b"a" * PART, b"b" * 1000]
    upload_id, done = upload(s3, bucket, "big", parts)
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [upload_id]
    listed = s3.list_parts(Bucket=bucket, Key="big", UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, PART), (2, 1000)]
    completed = s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload_id, MultipartUpload={"Parts": done})
    assert completed["ETag"] == multipart_etag(parts)
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["Body"].read() == b"".join(parts) and got["ETag"] == multipart_etag(parts)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_list_parts_pagination(s3, bucket):
    upload_id, _ = upload(s3, bucket, "k", [b"x"] * 3)
    first = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id, MaxParts=2)
    assert first["IsTruncated"] and [p["PartNumber"] for p in first["Parts"]] == [1, 2]
    rest = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id, PartNumberMarker=first["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in rest["Parts"]] == [3]


def test_repeated_complete_answers_the_same(s3, bucket):
    # SDKs retry CompleteMultipartUpload after a time-out: S3 answers a repeated Complete of an upload that completed
    # with the same part list with 200 and the object's ETag, not NoSuchUpload.
    parts = [b"p" * PART, b"q"]
    upload_id, done = upload(s3, bucket, "twice", parts)
    first = s3.complete_multipart_upload(Bucket=bucket, Key="twice", UploadId=upload_id, MultipartUpload={"Parts": done})
    again = s3.complete_multipart_upload(Bucket=bucket, Key="twice", UploadId=upload_id, MultipartUpload={"Parts": done})
    assert status(again) == 200 and again["ETag"] == first["ETag"]
    assert s3.get_object(Bucket=bucket, Key="twice")["Body"].read() == b"".join(parts)


def test_complete_part_too_small(s3, bucket):
    upload_id, done = upload(s3, bucket, "small", [b"tiny", b"tail"])
    response = error_of(s3.complete_multipart_upload, Bucket=bucket, Key="small", UploadId=upload_id, MultipartUpload={"Parts": done})
    assert (status(response), code(response)) == (400, "EntityTooSmall")


def test_complete_invalid_part(s3, bucket):
    upload_id, done = upload(s3, bucket, "k", [b"x"])
    done[0]["ETag"] = '"00000000000000000000000000000000"'
    response = error_of(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": done})
    assert (status(response), code(response)) == (400, "InvalidPart")


@pytest.mark.known_difference(moto="moto completes parts listed out of order")
def test_complete_invalid_part_order(s3, bucket):
    # Both parts of the minimum size, so that only their order is wrong.
    upload_id, done = upload(s3, bucket, "k", [b"x" * PART, b"y" * PART])
    response = error_of(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload_id,
                        MultipartUpload={"Parts": list(reversed(done))})
    assert (status(response), code(response)) == (400, "InvalidPartOrder")


def test_abort(s3, bucket):
    upload_id, _ = upload(s3, bucket, "k", [b"x"])
    assert status(s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)) == 204
    response = error_of(s3.list_parts, Bucket=bucket, Key="k", UploadId=upload_id)
    assert (status(response), code(response)) == (404, "NoSuchUpload")
    assert status(error_of(s3.head_object, Bucket=bucket, Key="k")) == 404


@pytest.mark.known_difference(moto="moto answers an unknown upload id with 500")
def test_unknown_upload_id(s3, bucket):
    response = error_of(s3.upload_part, Bucket=bucket, Key="k", UploadId="no-such-upload", PartNumber=1, Body=b"x")
    assert (status(response), code(response)) == (404, "NoSuchUpload")


def test_part_number_out_of_range(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    response = error_of(s3.upload_part, Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=10001, Body=b"x")
    assert (status(response), code(response)) == (400, "InvalidArgument")


def test_upload_part_copy(s3, bucket):
    source = bytes(range(256)) * 100
    s3.put_object(Bucket=bucket, Key="src", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    etag = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1,
                               CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange="bytes=100-199")["CopyPartResult"]["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=upload_id,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == source[100:200]
