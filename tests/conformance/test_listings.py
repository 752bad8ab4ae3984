"""Listings: ListObjects (V1) and ListObjectsV2 with prefix, delimiter, encoding-type, max-keys, markers and
continuation tokens, start-after, fetch-owner. From the S3 API reference of each operation."""
import pytest

from conftest import code, error_of, status

KEYS = ["a/1", "a/2", "a/b/3", "b/4", "c", "d e", "é"]


@pytest.fixture
def filled(s3, bucket):
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def test_v2_everything_in_order(s3, filled):
    page = s3.list_objects_v2(Bucket=filled)
    assert [o["Key"] for o in page["Contents"]] == sorted(KEYS, key=lambda k: k.encode())
    assert page["KeyCount"] == len(KEYS) and not page["IsTruncated"]
    first = page["Contents"][0]
    assert first["Size"] == 3 and first["ETag"].startswith('"') and first["StorageClass"] == "STANDARD"
    assert "Owner" not in first


def test_v2_fetch_owner(s3, filled):
    assert "ID" in s3.list_objects_v2(Bucket=filled, FetchOwner=True)["Contents"][0]["Owner"]


def test_v2_delimiter_and_prefix(s3, filled):
    top = s3.list_objects_v2(Bucket=filled, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "b/"]
    assert [o["Key"] for o in top["Contents"]] == ["c", "d e", "é"]
    assert top["KeyCount"] == 5
    under = s3.list_objects_v2(Bucket=filled, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in under["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in under["CommonPrefixes"]] == ["a/b/"]


def test_v2_pagination(s3, filled):
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=filled, MaxKeys=2, **kwargs)
        pages += 1
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == sorted(KEYS, key=lambda k: k.encode()) and pages == 4


def test_v2_pagination_counts_common_prefixes(s3, filled):
    # max-keys bounds keys and common prefixes together.
    page = s3.list_objects_v2(Bucket=filled, Delimiter="/", MaxKeys=2)
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["a/", "b/"] and "Contents" not in page and page["IsTruncated"]
    rest = s3.list_objects_v2(Bucket=filled, Delimiter="/", ContinuationToken=page["NextContinuationToken"])
    assert [o["Key"] for o in rest["Contents"]] == ["c", "d e", "é"]


def test_v2_start_after(s3, filled):
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=filled, StartAfter="b/4")["Contents"]] == ["c", "d e", "é"]


def test_v2_max_keys_zero(s3, filled):
    page = s3.list_objects_v2(Bucket=filled, MaxKeys=0)
    assert page["KeyCount"] == 0 and "Contents" not in page


def test_v1_marker_pagination(s3, filled):
    # V1 gives NextMarker only with a delimiter; without one the last key is the next marker.
    first = s3.list_objects(Bucket=filled, MaxKeys=3)
    assert first["IsTruncated"] and [o["Key"] for o in first["Contents"]] == ["a/1", "a/2", "a/b/3"]
    rest = s3.list_objects(Bucket=filled, Marker=first["Contents"][-1]["Key"])
    assert [o["Key"] for o in rest["Contents"]] == ["b/4", "c", "d e", "é"]
    assert "ID" in rest["Contents"][0]["Owner"]


@pytest.mark.known_difference(moto="moto's NextMarker is an opaque token, not the last key or prefix returned")
def test_v1_delimiter_next_marker(s3, filled):
    page = s3.list_objects(Bucket=filled, Delimiter="/", MaxKeys=1)
    assert page["IsTruncated"] and page["NextMarker"] == "a/"


def test_encoding_type_url(raw, filled):
    # encoding-type=url: Key, Prefix, Delimiter... come back URL-encoded (raw: boto3 would decode them).
    page = raw("GET", f"/{filled}", {"list-type": "2", "encoding-type": "url", "prefix": "d "})
    assert page.status == 200
    assert [c.findtext("Key") for c in page.xml.iter("Contents")] == ["d%20e"]
    assert page.xml.findtext("EncodingType") == "url" and page.xml.findtext("Prefix") == "d%20"
    accented = raw("GET", f"/{filled}", {"encoding-type": "url", "prefix": "é"})
    assert [c.findtext("Key") for c in accented.xml.iter("Contents")] == ["%C3%A9"]


@pytest.mark.known_difference(moto="moto accepts any encoding-type")
def test_invalid_encoding_type(raw, bucket):
    response = raw("GET", f"/{bucket}", {"list-type": "2", "encoding-type": "base64"})
    assert (response.status, response.code) == (400, "InvalidArgument")


@pytest.mark.known_difference(moto="moto answers a negative max-keys with an empty listing")
def test_invalid_max_keys(raw, bucket):
    response = raw("GET", f"/{bucket}", {"list-type": "2", "max-keys": "-1"})
    assert (response.status, response.code) == (400, "InvalidArgument")


def test_list_missing_bucket(s3):
    response = error_of(s3.list_objects_v2, Bucket="conf-no-such-bucket-0000000000")
    assert (status(response), code(response)) == (404, "NoSuchBucket")
