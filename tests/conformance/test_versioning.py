"""Versioning: Get/PutBucketVersioning, version ids on PUT, copy and CompleteMultipartUpload, GET/HEAD/DELETE and
copy sources by versionId, delete markers, ListObjectVersions (markers, prefix, delimiter, max-keys, encoding-type),
the null version of unversioned and suspended buckets. From the S3 API reference and the user guide's
"Retaining multiple versions of objects with S3 Versioning" pages."""
import pytest

from conftest import code, error_of, headers, status


def versions_of(s3, bucket, **kwargs):
    page = s3.list_object_versions(Bucket=bucket, **kwargs)
    return ([(v["Key"], v["VersionId"], v["IsLatest"]) for v in page.get("Versions", [])],
            [(m["Key"], m["VersionId"], m["IsLatest"]) for m in page.get("DeleteMarkers", [])])


def test_never_versioned_bucket(s3, bucket):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert "VersionId" not in put
    assert versions_of(s3, bucket) == ([("k", "null", True)], [])
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"x"


def test_enable_and_suspend(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


@pytest.mark.known_difference(moto="moto accepts any versioning Status")
def test_invalid_versioning_status(raw, bucket):
    body = b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Sometimes</Status></VersioningConfiguration>'
    response = raw("PUT", f"/{bucket}", {"versioning": ""}, body=body)
    assert (response.status, response.code) == (400, "MalformedXML")


def test_versions_on_put_and_get(s3, new_bucket):
    bucket = new_bucket(versioning="Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and "null" not in (v1, v2)
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"one"
    latest = s3.get_object(Bucket=bucket, Key="k")
    assert latest["Body"].read() == b"two" and latest["VersionId"] == v2
    assert s3.head_object(Bucket=bucket, Key="k", VersionId=v1)["VersionId"] == v1
    assert versions_of(s3, bucket) == ([("k", v2, True), ("k", v1, False)], [])


def test_version_id_on_copy_and_complete(s3, new_bucket):
    bucket = new_bucket(versioning="Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="src", Body=b"old")["VersionId"]
    s3.put_object(Bucket=bucket, Key="src", Body=b"new")
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1})
    assert copied["CopySourceVersionId"] == v1 and copied["VersionId"] not in (None, "null")
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"old"
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"part")["ETag"]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert done["VersionId"] not in (None, "null")
    assert s3.head_object(Bucket=bucket, Key="mp")["VersionId"] == done["VersionId"]


@pytest.mark.known_difference(moto="moto sends no x-amz-delete-marker header on a GET of a deleted key")
def test_delete_marker(s3, new_bucket):
    bucket = new_bucket(versioning="Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True and marker["VersionId"] not in (None, "null", v1)
    latest = error_of(s3.get_object, Bucket=bucket, Key="k")
    assert (status(latest), code(latest)) == (404, "NoSuchKey")
    assert headers(latest)["x-amz-delete-marker"] == "true"
    # A delete marker named by its version id: 405 MethodNotAllowed, with x-amz-delete-marker and Last-Modified.
    named = error_of(s3.head_object, Bucket=bucket, Key="k", VersionId=marker["VersionId"])
    assert status(named) == 405 and headers(named)["x-amz-delete-marker"] == "true" and "last-modified" in headers(named)
    assert versions_of(s3, bucket) == ([("k", v1, False)], [("k", marker["VersionId"], True)])
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    # Deleting the marker by its id brings the object back.
    removed = s3.delete_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
    assert removed["DeleteMarker"] is True and removed["VersionId"] == marker["VersionId"]
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"one"


def test_delete_version_permanently(s3, new_bucket):
    bucket = new_bucket(versioning="Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)["VersionId"] == v2
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"one"
    assert versions_of(s3, bucket) == ([("k", v1, True)], [])
    missing = error_of(s3.get_object, Bucket=bucket, Key="k", VersionId=v2)
    assert (status(missing), code(missing)) == (404, "NoSuchVersion")


def test_invalid_version_id(s3, new_bucket):
    bucket = new_bucket(versioning="Enabled")
    s3.put_object(Bucket=bucket, Key="k", Body=b"one")
    response = error_of(s3.get_object, Bucket=bucket, Key="k", VersionId="not a version id")
    assert status(response) in (400, 404) and code(response) in ("InvalidArgument", "NoSuchVersion")


@pytest.mark.known_difference(moto="moto answers a PUT in a suspended bucket without x-amz-version-id: null")
def test_suspended_bucket_writes_the_null_version(s3, new_bucket, target):
    bucket = new_bucket(versioning="Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    # "Amazon S3 automatically adds a null version ID to every subsequent object stored thereafter (using PUT, POST, or
    # CopyObject)", and PutObject answers that version id.
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"null 1")
    assert put.get("VersionId") == "null"
    s3.put_object(Bucket=bucket, Key="k", Body=b"null 2")
    assert versions_of(s3, bucket) == ([("k", "null", True), ("k", v1, False)], [])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"null 2"
    # A DELETE without a version id in a suspended bucket makes a delete marker whose id is null (replacing the null version).
    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True and marker["VersionId"] == "null"
    assert versions_of(s3, bucket) == ([("k", v1, False)], [("k", "null", True)])


@pytest.mark.known_difference(moto="moto lists the key-marker key's own versions when no version-id-marker is given")
def test_list_versions_paging_with_markers(s3, new_bucket):
    bucket = new_bucket(versioning="Enabled")
    ids = {}
    for key in ("a", "b"):
        ids[key] = [s3.put_object(Bucket=bucket, Key=key, Body=f"{key}{i}".encode())["VersionId"] for i in range(3)]
    seen, kwargs = [], {}
    while True:
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=2, **kwargs)
        seen += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        kwargs = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert seen == [("a", v) for v in reversed(ids["a"])] + [("b", v) for v in reversed(ids["b"])]
    # A key marker alone starts after every version of that key.
    after = s3.list_object_versions(Bucket=bucket, KeyMarker="a")
    assert [v["Key"] for v in after["Versions"]] == ["b"] * 3


@pytest.mark.known_difference(moto="moto ignores encoding-type in ListObjectVersions")
def test_list_versions_prefix_delimiter_encoding(s3, raw, new_bucket):
    bucket = new_bucket(versioning="Enabled")
    for key in ("dir/a b", "dir/sub/c", "top"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    rolled = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["dir/"]
    assert [v["Key"] for v in rolled["Versions"]] == ["top"]
    under = s3.list_object_versions(Bucket=bucket, Prefix="dir/", Delimiter="/")
    assert [v["Key"] for v in under["Versions"]] == ["dir/a b"] and [p["Prefix"] for p in under["CommonPrefixes"]] == ["dir/sub/"]
    encoded = raw("GET", f"/{bucket}", {"versions": "", "encoding-type": "url", "prefix": "dir/a"})
    assert [v.findtext("Key") for v in encoded.xml.iter("Version")] == ["dir/a%20b"]


def test_restore_an_old_version_by_copy(s3, new_bucket):
    bucket = new_bucket(versioning="Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"good")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"bad")
    s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "k", "VersionId": v1})
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"good"
    assert len(s3.list_object_versions(Bucket=bucket)["Versions"]) == 3
