"""Buckets: CreateBucket, HeadBucket, ListBuckets (with pagination), GetBucketLocation, DeleteBucket,
x-amz-expected-bucket-owner. From the S3 API reference of each operation."""
import pytest

from conftest import code, empty_and_delete, error_of, headers, status, unique_name


def test_create_head_list_delete(s3):
    name = unique_name()
    s3.create_bucket(Bucket=name)
    try:
        assert status(s3.head_bucket(Bucket=name)) == 200
        assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        s3.delete_bucket(Bucket=name)
    missing = error_of(s3.head_bucket, Bucket=name)
    assert status(missing) == 404


def test_missing_bucket_is_no_such_bucket(s3):
    name = unique_name()
    assert code(error_of(s3.list_objects_v2, Bucket=name)) == "NoSuchBucket"
    assert code(error_of(s3.delete_bucket, Bucket=name)) == "NoSuchBucket"


@pytest.mark.known_difference(moto="moto creates buckets with upper case letters and underscores in their names")
def test_invalid_bucket_name(s3):
    # Upper case and underscores are not allowed in bucket names (general purpose bucket naming rules).
    try:
        response = error_of(s3.create_bucket, Bucket="Not_A_Valid_Bucket")
    finally:
        empty_and_delete(s3, "Not_A_Valid_Bucket")
    assert status(response) == 400 and code(response) == "InvalidBucketName"


def test_create_existing_bucket_in_us_east_1(s3, bucket, settings):
    # CreateBucket: "In the North Virginia Region (us-east-1), Amazon S3 returns 200 OK and resets the bucket access
    # control lists" for a bucket you already own; elsewhere 409 BucketAlreadyOwnedByYou.
    if settings["region_name"] == "us-east-1":
        assert status(s3.create_bucket(Bucket=bucket)) == 200
    else:
        response = error_of(s3.create_bucket, Bucket=bucket,
                            CreateBucketConfiguration={"LocationConstraint": settings["region_name"]})
        assert (status(response), code(response)) == (409, "BucketAlreadyOwnedByYou")


def test_get_bucket_location(s3, bucket, settings):
    # us-east-1 answers an empty LocationConstraint (boto3 reads it as None).
    location = s3.get_bucket_location(Bucket=bucket)["LocationConstraint"]
    expected = None if settings["region_name"] == "us-east-1" else settings["region_name"]
    assert location == expected


def test_delete_non_empty_bucket_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    response = error_of(s3.delete_bucket, Bucket=bucket)
    assert (status(response), code(response)) == (409, "BucketNotEmpty")


def test_delete_bucket_with_only_in_progress_uploads_succeeds(s3):
    # DeleteBucket: "All objects (including all object versions and delete markers) in the bucket must be deleted";
    # uploads in progress are not objects: S3 deletes the bucket and the uploads with it.
    name = unique_name()
    s3.create_bucket(Bucket=name)
    try:
        s3.create_multipart_upload(Bucket=name, Key="unfinished")
        assert status(s3.delete_bucket(Bucket=name)) == 204
        assert status(error_of(s3.head_bucket, Bucket=name)) == 404
    finally:
        empty_and_delete(s3, name)


@pytest.mark.known_difference(moto="moto 5 ignores max-buckets, prefix and continuation-token and lists every bucket at once")
def test_list_buckets_pagination(raw, new_bucket):
    # ListBuckets (raw: Debian's boto3 1.26 predates these parameters): max-buckets, prefix, continuation-token.
    stem = unique_name("page")
    names = sorted(new_bucket(name=f"{stem}-{i}") for i in range(5))
    seen, token = [], None
    while True:
        query = {"max-buckets": "2", "prefix": stem}
        if token:
            query["continuation-token"] = token
        page = raw("GET", "/", query)
        assert page.status == 200, page.body
        listed = [b.findtext("Name") for b in page.xml.iter("Bucket")]
        assert len(listed) <= 2
        assert page.xml.findtext("Prefix") == stem
        seen += listed
        token = page.xml.findtext("ContinuationToken")
        if not token:
            break
    assert seen == names


@pytest.mark.known_difference(moto="moto 5 ignores max-buckets")
def test_list_buckets_max_buckets_out_of_range(raw):
    # max-buckets: "Valid Range: Minimum value of 1. Maximum value of 10000."
    for value in ("0", "10001", "many"):
        response = raw("GET", "/", {"max-buckets": value})
        assert (response.status, response.code) == (400, "InvalidArgument"), value


@pytest.mark.known_difference(moto="moto does not check x-amz-expected-bucket-owner")
def test_expected_bucket_owner_mismatch_is_access_denied(s3, bucket):
    # Bucket owner condition: "If the account ID that you provide does not match the actual owner of the bucket, the
    # request fails with the HTTP status code 403 Forbidden (access denied)."
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for call, kwargs in [(s3.head_bucket, {}), (s3.get_object, {"Key": "k"}), (s3.list_objects_v2, {}),
                         (s3.put_object, {"Key": "k2", "Body": b"y"})]:
        response = error_of(call, Bucket=bucket, ExpectedBucketOwner="111122223333", **kwargs)
        assert status(response) == 403, (call, response)
        if call.__name__ != "head_bucket":  # a HEAD answer has no body to carry the code
            assert code(response) == "AccessDenied", (call, response)


def test_expected_bucket_owner_match(s3, bucket, account_id):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ExpectedBucketOwner=account_id)
    assert s3.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner=account_id)["Body"].read() == b"x"
