"""Fixtures of the S3 conformance suite: one boto3 client per endpoint, uniquely named buckets that are emptied
(every version, delete marker and unfinished upload) and removed after each test, and the per-target marks.

The endpoint and credentials come from run.sh's options or the environment (S3_ENDPOINT_URL, S3_ACCESS_KEY,
S3_SECRET_KEY, S3_REGION, S3_TARGET); see README.md."""
import hashlib
import http.client
import os
import urllib.parse
import uuid
from xml.etree import ElementTree

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.client import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

TARGETS = ("aws", "coffre", "moto")


def pytest_addoption(parser):
    group = parser.getgroup("conformance")
    group.addoption("--endpoint-url", default=os.environ.get("S3_ENDPOINT_URL"), help="the S3 endpoint under test")
    group.addoption("--access-key", default=os.environ.get("S3_ACCESS_KEY"))
    group.addoption("--secret-key", default=os.environ.get("S3_SECRET_KEY"))
    group.addoption("--region", default=os.environ.get("S3_REGION", "us-east-1"))
    group.addoption("--target", default=os.environ.get("S3_TARGET", "aws"), choices=TARGETS,
                    help="which implementation answers: selects the known_difference marks that apply")
    group.addoption("--account-id", default=os.environ.get("S3_ACCOUNT_ID"),
                    help="the account owning the buckets made (x-amz-expected-bucket-owner); its tests skip without it")


def pytest_configure(config):
    config.addinivalue_line("markers", "known_difference(**targets): this target is known to answer otherwise than "
                                       "AWS documents; the value is the reason. The test is expected to fail there.")


def pytest_collection_modifyitems(config, items):
    # A known difference is an expected failure on that target, reported as such (xfail, or XPASS when it got fixed):
    # never a silent skip, and the same test still asserts AWS's behaviour everywhere else.
    target = config.getoption("--target")
    for item in items:
        for mark in item.iter_markers("known_difference"):
            if target in mark.kwargs:
                item.add_marker(pytest.mark.xfail(reason=f"{target}: {mark.kwargs[target]}", strict=False))


@pytest.fixture(scope="session")
def target(pytestconfig):
    return pytestconfig.getoption("--target")


@pytest.fixture(scope="session")
def settings(pytestconfig):
    endpoint = pytestconfig.getoption("--endpoint-url")
    key, secret = pytestconfig.getoption("--access-key"), pytestconfig.getoption("--secret-key")
    if not (endpoint and key and secret):
        pytest.exit("set --endpoint-url, --access-key and --secret-key (or S3_ENDPOINT_URL, S3_ACCESS_KEY, S3_SECRET_KEY)", 2)
    return {"endpoint_url": endpoint, "aws_access_key_id": key, "aws_secret_access_key": secret,
            "region_name": pytestconfig.getoption("--region")}


def make_client(settings, **config):
    return boto3.client("s3", **settings, config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                                        **config))


@pytest.fixture(scope="session")
def s3(settings):
    return make_client(settings)


def unique_name(prefix="conf"):
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def empty_and_delete(s3, bucket):
    try:
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
            for u in page.get("Uploads", []):
                s3.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if doomed:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
        s3.delete_bucket(Bucket=bucket)
    except ClientError as e:
        if e.response["Error"]["Code"] != "NoSuchBucket":
            raise


@pytest.fixture
def new_bucket(s3):
    """A factory of fresh buckets (bucket names are global: a random suffix), each removed after the test."""
    made = []

    def make(versioning=None, name=None):
        name = name or unique_name()
        s3.create_bucket(Bucket=name)
        made.append(name)
        if versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
        return name

    yield make
    for name in made:
        empty_and_delete(s3, name)


@pytest.fixture
def bucket(new_bucket):
    return new_bucket()


def error_of(call, **kwargs):
    """The error response of a call expected to fail (AssertionError if it succeeds)."""
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response
    raise AssertionError(f"{getattr(call, '__name__', call)}({kwargs}) succeeded")


def code(response):
    return response["Error"]["Code"]


def status(response):
    return response["ResponseMetadata"]["HTTPStatusCode"]


def headers(response):
    return response["ResponseMetadata"]["HTTPHeaders"]


@pytest.fixture(scope="session")
def account_id(pytestconfig):
    """The account that owns the buckets this suite creates (--account-id, S3_ACCOUNT_ID): what
    x-amz-expected-bucket-owner must name."""
    value = pytestconfig.getoption("--account-id")
    if not value:
        pytest.skip("the bucket owner's account id is not known: pass --account-id (S3_ACCOUNT_ID)")
    return value


class RawResponse:
    def __init__(self, status_code, header_items, body):
        self.status = status_code
        self.headers = {k.lower(): v for k, v in header_items}
        self.body = body

    @property
    def xml(self):
        """The body's XML with S3's namespace removed from element names."""
        root = ElementTree.fromstring(self.body)
        for element in root.iter():
            element.tag = element.tag.split("}")[-1]
        return root

    @property
    def code(self):
        """The S3 error code: from the XML body, or from x-amz-error-code (HEAD); None for a body that is not XML."""
        if not self.body:
            return self.headers.get("x-amz-error-code")
        try:
            return self.xml.findtext("Code")
        except ElementTree.ParseError:
            return None


@pytest.fixture(scope="session")
def raw(settings):
    """A SigV4-signed request with exactly the headers and query given, for what Debian's boto3 (1.26) cannot send
    (newer parameters such as ListBuckets' max-buckets, CRC64NVME, If-None-Match on PUT) or would correct."""
    credentials = Credentials(settings["aws_access_key_id"], settings["aws_secret_access_key"])
    endpoint = settings["endpoint_url"].rstrip("/")

    def send(method, path, query=None, headers=None, body=b"", sign=True):
        """headers: a dict, or a list of (name, value) pairs where a name may repeat (sent as separate lines)."""
        url = endpoint + urllib.parse.quote(path, safe="/~")
        if query:
            url += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="~")
        request = AWSRequest(method=method, url=url, data=body)
        for name, value in (headers.items() if isinstance(headers, dict) else headers or []):
            request.headers[name] = value  # an HTTPMessage: setting a name again adds another line
        request.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
        if sign:
            S3SigV4Auth(credentials, "s3", settings["region_name"]).add_auth(request)
        parts = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60) if parts.scheme == "http" \
            else http.client.HTTPSConnection(parts.hostname, parts.port, timeout=60)
        try:
            connection.putrequest(method, parts.path + ("?" + parts.query if parts.query else ""), skip_accept_encoding=True)
            for name, value in request.headers.items():
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return RawResponse(response.status, response.getheaders(), response.read())
        finally:
            connection.close()

    return send
