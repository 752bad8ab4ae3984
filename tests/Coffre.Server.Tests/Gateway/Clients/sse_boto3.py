"""boto3 against a Coffre gateway: SSE-C (round trip, range, multipart, copy, presigned GET, S3's errors) and SSE-KMS
(key choice, grants, bucket default encryption). Run by SseBoto3Tests; prints "ok" when every check held.
Environment: ENDPOINT, ACCESS_KEY, SECRET_KEY, RESTRICTED_ACCESS_KEY, RESTRICTED_SECRET_KEY, FINANCE_ARN, DEFAULT_KEY_ID."""
import base64
import hashlib
import os
import urllib.error
import urllib.request

import boto3
import botocore.exceptions
from botocore.config import Config

E = os.environ
CONFIG = Config(s3={"addressing_style": "path"}, signature_version="s3v4", retries={"max_attempts": 1})


def client(ak, sk):
    return boto3.client("s3", endpoint_url=E["ENDPOINT"], aws_access_key_id=ak, aws_secret_access_key=sk,
                        region_name="us-east-1", config=CONFIG)


def error(call):
    try:
        call()
    except botocore.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    raise AssertionError("the call succeeded but should have been refused")


def expect(actual, expected, what):
    assert actual == expected, "%s: got %r, expected %r" % (what, actual, expected)


s3 = client(E["ACCESS_KEY"], E["SECRET_KEY"])
restricted = client(E["RESTRICTED_ACCESS_KEY"], E["RESTRICTED_SECRET_KEY"])
s3.create_bucket(Bucket="boto")
key, other = os.urandom(32), os.urandom(32)
ssec = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
ssec_other = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": other}

# ---- SSE-C: single object ----
body = os.urandom(300_000)
put = s3.put_object(Bucket="boto", Key="c", Body=body, **ssec)
expect(put["SSECustomerAlgorithm"], "AES256", "put algorithm")
expect(put["SSECustomerKeyMD5"], base64.b64encode(hashlib.md5(key).digest()).decode(), "put key MD5")
expect(s3.get_object(Bucket="boto", Key="c", **ssec)["Body"].read(), body, "get")
expect(s3.get_object(Bucket="boto", Key="c", Range="bytes=70000-140000", **ssec)["Body"].read(), body[70000:140001], "ranged get")
expect(s3.head_object(Bucket="boto", Key="c", **ssec)["ContentLength"], len(body), "head")
expect(error(lambda: s3.get_object(Bucket="boto", Key="c")), (400, "InvalidRequest"), "get without the key")
expect(error(lambda: s3.get_object(Bucket="boto", Key="c", **ssec_other)), (403, "AccessDenied"), "get with another key")
expect(error(lambda: s3.head_object(Bucket="boto", Key="c"))[0], 400, "head without the key")
expect(error(lambda: s3.head_object(Bucket="boto", Key="c", **ssec_other))[0], 403, "head with another key")
# With an explicit MD5, botocore sends the key as given (base64 text).
expect(error(lambda: s3.get_object(Bucket="boto", Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=base64.b64encode(key).decode(),
                                   SSECustomerKeyMD5=base64.b64encode(b"0" * 16).decode())),
       (400, "InvalidArgument"), "MD5 mismatch")
expect(error(lambda: s3.put_object(Bucket="boto", Key="short", Body=b"x", SSECustomerAlgorithm="AES256", SSECustomerKey=os.urandom(16))),
       (400, "InvalidArgument"), "16-byte key")
expect(error(lambda: s3.put_object(Bucket="boto", Key="both", Body=b"x", ServerSideEncryption="AES256", **ssec)),
       (400, "InvalidArgument"), "SSE-C with SSE-S3")
s3.put_object(Bucket="boto", Key="plain", Body=b"plain")
expect(error(lambda: s3.get_object(Bucket="boto", Key="plain", **ssec)), (400, "InvalidRequest"), "a key for an object written without")

# ---- SSE-C: multipart, every part with the upload's key ----
mp = s3.create_multipart_upload(Bucket="boto", Key="mp", **ssec)
expect(mp["SSECustomerAlgorithm"], "AES256", "create multipart algorithm")
p1, p2 = os.urandom(5 * 1024 * 1024), os.urandom(1000)
e1 = s3.upload_part(Bucket="boto", Key="mp", UploadId=mp["UploadId"], PartNumber=1, Body=p1, **ssec)["ETag"]
expect(error(lambda: s3.upload_part(Bucket="boto", Key="mp", UploadId=mp["UploadId"], PartNumber=2, Body=p2)),
       (400, "InvalidRequest"), "part without the key")
expect(error(lambda: s3.upload_part(Bucket="boto", Key="mp", UploadId=mp["UploadId"], PartNumber=2, Body=p2, **ssec_other)),
       (403, "AccessDenied"), "part with another key")
e2 = s3.upload_part(Bucket="boto", Key="mp", UploadId=mp["UploadId"], PartNumber=2, Body=p2, **ssec)["ETag"]
s3.complete_multipart_upload(Bucket="boto", Key="mp", UploadId=mp["UploadId"],
                             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
expect(s3.get_object(Bucket="boto", Key="mp", **ssec)["Body"].read(), p1 + p2, "multipart get")
expect(error(lambda: s3.get_object(Bucket="boto", Key="mp")), (400, "InvalidRequest"), "multipart get without the key")

# ---- SSE-C: copies ----
s3.copy_object(Bucket="boto", Key="c2", CopySource={"Bucket": "boto", "Key": "c"},
               CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=key, **ssec_other)
expect(s3.get_object(Bucket="boto", Key="c2", **ssec_other)["Body"].read(), body, "copy read with the new key")
expect(error(lambda: s3.get_object(Bucket="boto", Key="c2", **ssec)), (403, "AccessDenied"), "copy read with the source key")
expect(error(lambda: s3.copy_object(Bucket="boto", Key="c3", CopySource={"Bucket": "boto", "Key": "c"})),
       (400, "InvalidRequest"), "copy without the source key")

# ---- SSE-C: a presigned GET; the client sends the signed SSE-C headers with it ----
url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "c", **ssec}, ExpiresIn=300)
headers = {"x-amz-server-side-encryption-customer-algorithm": "AES256",
           "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
           "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(hashlib.md5(key).digest()).decode()}
with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
    expect(response.read(), body, "presigned get")
try:
    urllib.request.urlopen(urllib.request.Request(url))
    raise AssertionError("a presigned GET without the SSE-C headers succeeded")
except urllib.error.HTTPError as e:
    assert 400 <= e.code < 500, e.code

# ---- SSE-KMS: key choice and grants ----
fin = E["FINANCE_ARN"]
put = s3.put_object(Bucket="boto", Key="fin", Body=b"finance", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/finance",
                    SSEKMSEncryptionContext=base64.b64encode(b'{"department":"finance"}').decode(), BucketKeyEnabled=True)
expect((put["ServerSideEncryption"], put["SSEKMSKeyId"], put["BucketKeyEnabled"]), ("aws:kms", fin, True), "SSE-KMS put")
head = s3.head_object(Bucket="boto", Key="fin")
expect((head["ServerSideEncryption"], head["SSEKMSKeyId"], head["BucketKeyEnabled"]), ("aws:kms", fin, True), "SSE-KMS head")
expect(s3.get_object(Bucket="boto", Key="fin")["Body"].read(), b"finance", "SSE-KMS get")
expect(error(lambda: restricted.put_object(Bucket="boto", Key="denied", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=fin)),
       (403, "AccessDenied"), "a key the caller may not use")
expect(error(lambda: restricted.get_object(Bucket="boto", Key="fin")), (403, "AccessDenied"), "reading under a key the caller may not use")
restricted.put_object(Bucket="boto", Key="bucket-key", Body=b"x")
expect(restricted.get_object(Bucket="boto", Key="bucket-key")["Body"].read(), b"x", "the bucket's key needs no KMS grant")
expect(error(lambda: s3.put_object(Bucket="boto", Key="nope", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/nope")),
       (400, "KMS.NotFoundException"), "a key that does not exist")
expect(error(lambda: s3.put_object(Bucket="boto", Key="bad", Body=b"x", ServerSideEncryption="aws:unknown")),
       (400, "InvalidArgument"), "an unknown algorithm")

# ---- bucket default encryption ----
rule = s3.get_bucket_encryption(Bucket="boto")["ServerSideEncryptionConfiguration"]["Rules"][0]
expect(rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256", "default configuration")
s3.put_bucket_encryption(Bucket="boto", ServerSideEncryptionConfiguration={"Rules": [
    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/finance"}, "BucketKeyEnabled": True}]})
rule = s3.get_bucket_encryption(Bucket="boto")["ServerSideEncryptionConfiguration"]["Rules"][0]
expect((rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"],
        rule["BucketKeyEnabled"]), ("aws:kms", fin, True), "configuration set")
put = s3.put_object(Bucket="boto", Key="by-default", Body=b"d")
expect((put["SSEKMSKeyId"], put["BucketKeyEnabled"]), (fin, True), "write under the default")
expect(error(lambda: restricted.put_object(Bucket="boto", Key="denied-default", Body=b"x")), (403, "AccessDenied"),
       "the default key needs the grant too")
put = s3.put_object(Bucket="boto", Key="sse-s3", Body=b"s", ServerSideEncryption="AES256")
expect(put["ServerSideEncryption"], "AES256", "SSE-S3 under a KMS default")
s3.delete_bucket_encryption(Bucket="boto")
rule = s3.get_bucket_encryption(Bucket="boto")["ServerSideEncryptionConfiguration"]["Rules"][0]
expect(rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256", "configuration deleted")
put = s3.put_object(Bucket="boto", Key="after", Body=b"a")
assert put["SSEKMSKeyId"].endswith("key/" + E["DEFAULT_KEY_ID"]), put["SSEKMSKeyId"]
print("ok")
