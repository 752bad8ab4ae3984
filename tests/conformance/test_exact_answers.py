"""S3's exact answers where clients read them: unimplemented subresources are never routed to another operation,
repeated headers are joined as S3 joins them, HEAD with a subresource, unknown methods."""
import pytest

from conftest import code, error_of, status


def test_put_versioning_on_existing_bucket_is_not_create_bucket(raw, bucket):
    body = b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>'
    response = raw("PUT", f"/{bucket}", {"versioning": ""}, body=body)
    assert response.status == 200, response.body


@pytest.mark.known_difference(moto="moto joins repeated header lines with ',' and no space")
def test_repeated_headers_are_joined(raw, bucket):
    # HTTP joins repeated fields with ", " (RFC 9110 §5.3); S3 stores Content-Encoding: deflate, gzip.
    response = raw("PUT", f"/{bucket}/k", headers=[("Content-Encoding", "deflate"), ("Content-Encoding", "gzip"),
                                                  ("x-amz-meta-colour", "blue"), ("x-amz-meta-colour", "green")], body=b"x")
    assert response.status == 200, response.body
    head = raw("HEAD", f"/{bucket}/k")
    assert head.headers["content-encoding"] == "deflate, gzip"
    assert head.headers["x-amz-meta-colour"] == "blue, green"
