"""boto3 against a Coffre gateway: Signature Version 2 (botocore's HmacV1, signature_version 's3') over the everyday
operations, and virtual-hosted-style addressing (bucket.DOMAIN) with SigV2 and SigV4, presigned URLs included.
Run by SigV2ClientTests; prints "ok" when every check held.
Environment: ENDPOINT (http://127.0.0.1:PORT), DOMAIN (a Coffre:Domains entry), ACCESS_KEY, SECRET_KEY.
bucket.DOMAIN resolves to 127.0.0.1 through a getaddrinfo shim, so the test needs no DNS and no root."""
import base64
import hashlib
import os
import socket
import urllib.error
import urllib.parse
import urllib.request

import boto3
import botocore.exceptions
from botocore.config import Config

E = os.environ
DOMAIN = E["DOMAIN"]
PORT = urllib.parse.urlsplit(E["ENDPOINT"]).port

_getaddrinfo = socket.getaddrinfo


def _resolve(host, *args, **kwargs):
    if isinstance(host, str) and (host == DOMAIN or host.endswith("." + DOMAIN)):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _resolve


def client(signature, style, endpoint=E["ENDPOINT"], secret=E["SECRET_KEY"]):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=E["ACCESS_KEY"], aws_secret_access_key=secret,
                        region_name="us-east-1",
                        config=Config(s3={"addressing_style": style}, signature_version=signature, retries={"max_attempts": 1}))


def error(call):
    try:
        call()
    except botocore.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]
    raise AssertionError("the call succeeded but should have been refused")


def expect(actual, expected, what):
    assert actual == expected, "%s: got %r, expected %r" % (what, actual, expected)


def fetch(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def everyday(s3, bucket, what):
    """The calls a SigV2 client makes, each signing its own subresources and x-amz-* headers."""
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(100_000)
    s3.put_object(Bucket=bucket, Key="dir/a b+c.bin", Body=body, Metadata={"note": "two  spaces"}, Tagging="k=v")
    got = s3.get_object(Bucket=bucket, Key="dir/a b+c.bin")
    expect(got["Body"].read(), body, what + ": get")
    expect(got["Metadata"], {"note": "two  spaces"}, what + ": metadata")
    expect(s3.head_object(Bucket=bucket, Key="dir/a b+c.bin")["ContentLength"], len(body), what + ": head")
    expect(s3.get_object(Bucket=bucket, Key="dir/a b+c.bin", Range="bytes=10-19")["Body"].read(), body[10:20], what + ": range")
    expect(s3.get_object(Bucket=bucket, Key="dir/a b+c.bin", ResponseContentType="text/x-test")["ContentType"], "text/x-test",
           what + ": response override")
    expect([o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="dir/")["Contents"]], ["dir/a b+c.bin"], what + ": list v2")
    expect([o["Key"] for o in s3.list_objects(Bucket=bucket, Marker="a", MaxKeys=5)["Contents"]], ["dir/a b+c.bin"], what + ": list v1")
    expect(s3.get_object_tagging(Bucket=bucket, Key="dir/a b+c.bin")["TagSet"], [{"Key": "k", "Value": "v"}], what + ": tagging")
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "dir/a b+c.bin"})
    expect(s3.get_object(Bucket=bucket, Key="copy")["Body"].read(), body, what + ": copy")
    # Multipart: uploads, uploadId and partNumber are signed subresources.
    mp = s3.create_multipart_upload(Bucket=bucket, Key="mp")
    p1, p2 = os.urandom(5 * 1024 * 1024), os.urandom(1000)
    e1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=mp["UploadId"], PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=mp["UploadId"], PartNumber=2, Body=p2)["ETag"]
    expect(len(s3.list_parts(Bucket=bucket, Key="mp", UploadId=mp["UploadId"])["Parts"]), 2, what + ": list parts")
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=mp["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    expect(s3.get_object(Bucket=bucket, Key="mp")["Body"].read(), p1 + p2, what + ": multipart")
    # Versioning: versioning, versions and versionId.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="v", Body=b"one")["VersionId"]
    s3.put_object(Bucket=bucket, Key="v", Body=b"two")
    expect(s3.get_object(Bucket=bucket, Key="v", VersionId=v1)["Body"].read(), b"one", what + ": get by version")
    expect(len(s3.list_object_versions(Bucket=bucket, Prefix="v")["Versions"]), 2, what + ": list versions")
    # A presigned GET (SigV2: AWSAccessKeyId, Expires, Signature; SigV4: X-Amz-*), fetched without the SDK.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/a b+c.bin"}, ExpiresIn=300)
    expect(fetch(url), (200, body), what + ": presigned GET")
    # Content-MD5 is checked though SigV2 does not sign the body.
    status, err = error(lambda: s3.put_object(Bucket=bucket, Key="bad", Body=b"body",
                                              ContentMD5=base64.b64encode(hashlib.md5(b"other").digest()).decode()))
    expect((status, err["Code"]), (400, "BadDigest"), what + ": wrong Content-MD5")
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "copy"}, {"Key": "mp"}]})
    expect(error(lambda: s3.head_object(Bucket=bucket, Key="copy"))[0], 404, what + ": deleted")
    return url


# ---- Signature Version 2, path style ----
v2 = client("s3", "path")
url = everyday(v2, "sigv2-path", "SigV2 path")
assert "AWSAccessKeyId=" in url and "Signature=" in url and "X-Amz-" not in url, url
expired = v2.generate_presigned_url("get_object", Params={"Bucket": "sigv2-path", "Key": "dir/a b+c.bin"}, ExpiresIn=-60)
status, text = fetch(expired)
expect(status, 403, "expired SigV2 URL")
assert b"<Code>AccessDenied</Code>" in text and b"Request has expired" in text, text
status, err = error(lambda: client("s3", "path", secret="wrong-secret").list_objects(Bucket="sigv2-path"))
expect((status, err["Code"]), (403, "SignatureDoesNotMatch"), "wrong secret")
expect(err["StringToSign"].split("\n")[-1], "/sigv2-path", "StringToSign in the error")
assert err["StringToSignBytes"].startswith("47 45 54 0a"), err
expect(err["AWSAccessKeyId"], E["ACCESS_KEY"], "access key in the error")

# ---- Virtual-hosted style: bucket.DOMAIN, with SigV4 and SigV2 ----
vh_endpoint = "http://%s:%d" % (DOMAIN, PORT)
for signature in ("s3v4", "s3"):
    s3 = client(signature, "virtual", endpoint=vh_endpoint)
    bucket = "vh-" + signature
    url = everyday(s3, bucket, "virtual " + signature)
    assert urllib.parse.urlsplit(url).hostname == bucket + "." + DOMAIN, url
    # The same objects, path style: one bucket, two addressings.
    expect(client(signature, "path").get_object(Bucket=bucket, Key="v")["Body"].read(), b"two", "path style on " + bucket)
print("ok")
