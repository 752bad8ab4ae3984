"""DeleteObjects (POST /bucket?delete): keys, version ids, Quiet, the per-key errors, and its limits."""
import hashlib
import base64

import pytest

from conftest import code, error_of, status


def test_delete_several(s3, bucket):
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "never"}]})
    # A key that does not exist is reported deleted, as S3 does.
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "b", "never"] and "Errors" not in result
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]


@pytest.mark.known_difference(moto="moto lists the deleted keys in Quiet mode")
def test_quiet(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}], "Quiet": True})
    assert "Deleted" not in result and "Errors" not in result


@pytest.mark.known_difference(moto="moto omits DeleteMarker when a delete marker is removed by version id")
def test_versioned(s3, new_bucket):
    bucket = new_bucket(versioning="Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"two")
    marker = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})["Deleted"][0]
    assert marker["DeleteMarker"] is True and marker["DeleteMarkerVersionId"]
    named = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": v1},
                                                                 {"Key": "k", "VersionId": marker["DeleteMarkerVersionId"]}]})
    by_version = {d["VersionId"]: d for d in named["Deleted"]}
    assert set(by_version) == {v1, marker["DeleteMarkerVersionId"]}
    assert by_version[marker["DeleteMarkerVersionId"]]["DeleteMarker"] is True
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]] != [v1]


@pytest.mark.known_difference(moto="moto accepts an Object without a Key")
def test_malformed_body(raw, bucket):
    body = b"<Delete><Object></Object></Delete>"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    response = raw("POST", f"/{bucket}", {"delete": ""}, headers={"Content-MD5": md5}, body=body)
    assert (response.status, response.code) == (400, "MalformedXML")


@pytest.mark.known_difference(moto="moto accepts more than 1,000 keys")
def test_too_many_keys(raw, bucket):
    body = ("<Delete>" + "".join(f"<Object><Key>k{i}</Key></Object>" for i in range(1001)) + "</Delete>").encode()
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    response = raw("POST", f"/{bucket}", {"delete": ""}, headers={"Content-MD5": md5}, body=body)
    assert (response.status, response.code) == (400, "MalformedXML")
