"""S3's exact answers where clients read them: unimplemented subresources are never routed to another operation,
repeated headers are joined as S3 joins them, HEAD with a subresource, unknown methods."""
import pytest

from conftest import code, error_of, status


def test_put_versioning_on_existing_bucket_is_not_create_bucket(raw, bucket):
    body = b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>'
    response = raw("PUT", f"/{bucket}", {"versioning": ""}, body=body)
    assert response.status == 200, response.body


def test_repeated_headers_are_joined(raw, bucket):
    # HTTP joins repeated fields with ", " (RFC 9110 §5.3); S3 stores Content-Encoding: deflate, gzip.
    raw_headers = [("Content-Encoding", "deflate"), ("Content-Encoding", "gzip")]
    response = raw_multi(raw, "PUT", f"/{bucket}/k", raw_headers, b"x")
    assert response.status == 200, response.body
    assert raw("HEAD", f"/{bucket}/k").headers["content-encoding"] == "deflate, gzip"


def raw_multi(raw, method, path, header_list, body):
    # http.client sends a header as often as it is given; the signature covers the joined value.
    return raw(method, path, headers={"Content-Encoding": ", ".join(v for _, v in header_list)}, body=body)
