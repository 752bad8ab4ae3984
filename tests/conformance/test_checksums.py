"""Integrity values sent with a body: Content-MD5 and x-amz-checksum-{crc32, crc32c, crc64nvme, sha1, sha256}.
A value that is well formed but wrong is BadDigest; one that is not a digest at all (bad base64, wrong length) is
InvalidDigest (both 400). Raw requests: Debian's boto3 1.26 knows neither CRC64NVME nor how to send a wrong value."""
import base64
import hashlib
import zlib

import pytest

BODY = b"The quick brown fox jumps over the lazy dog"


def reflected_crc(data, polynomial, width):
    """A reflected CRC with all-ones initial value and final XOR: CRC-32C and CRC-64/NVME are two of them."""
    mask = (1 << width) - 1
    crc = mask
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (polynomial if crc & 1 else 0)
    return crc ^ mask


def crc32c(data):
    return reflected_crc(data, 0x82F63B78, 32)


def crc64nvme(data):
    return reflected_crc(data, 0x9A6C9329AC4BC9B5, 64)


DIGESTS = {
    "crc32": lambda d: zlib.crc32(d).to_bytes(4, "big"),
    "crc32c": lambda d: crc32c(d).to_bytes(4, "big"),
    "crc64nvme": lambda d: crc64nvme(d).to_bytes(8, "big"),
    "sha1": lambda d: hashlib.sha1(d).digest(),
    "sha256": lambda d: hashlib.sha256(d).digest(),
}
MOTO_NO_CRC64 = "moto 5 does not know x-amz-checksum-crc64nvme"


def b64(raw_bytes):
    return base64.b64encode(raw_bytes).decode()


def checksum_headers(algorithm, value):
    # As SDKs send them: the value, and the algorithm named in x-amz-sdk-checksum-algorithm.
    return {f"x-amz-checksum-{algorithm}": value, "x-amz-sdk-checksum-algorithm": algorithm.upper()}


def test_crc_reference_values():
    # The check values of the CRC catalogue ("123456789").
    assert crc32c(b"123456789") == 0xE3069283
    assert crc64nvme(b"123456789") == 0xAE8B14860A799888


@pytest.mark.parametrize("algorithm", DIGESTS)
def test_right_checksum_is_stored_and_returned(raw, bucket, algorithm, target):
    if algorithm == "crc64nvme" and target == "moto":
        pytest.xfail(MOTO_NO_CRC64)
    value = b64(DIGESTS[algorithm](BODY))
    put = raw("PUT", f"/{bucket}/k", headers=checksum_headers(algorithm, value), body=BODY)
    assert put.status == 200, put.body
    head = raw("HEAD", f"/{bucket}/k", headers={"x-amz-checksum-mode": "ENABLED"})
    assert head.headers.get(f"x-amz-checksum-{algorithm}") == value


@pytest.mark.known_difference(moto="moto keeps a checksum header without checking it against the body")
@pytest.mark.parametrize("algorithm", DIGESTS)
def test_wrong_checksum_is_bad_digest(raw, bucket, algorithm, target):
    if algorithm == "crc64nvme" and target == "moto":
        pytest.xfail(MOTO_NO_CRC64)
    wrong = b64(DIGESTS[algorithm](BODY + b"!"))
    response = raw("PUT", f"/{bucket}/k", headers=checksum_headers(algorithm, wrong), body=BODY)
    assert (response.status, response.code) == (400, "BadDigest")
    assert raw("HEAD", f"/{bucket}/k").status == 404


@pytest.mark.known_difference(moto="moto does not check that a checksum header is well formed")
@pytest.mark.parametrize("algorithm", DIGESTS)
@pytest.mark.parametrize("malformed", ["not base64!", "AAAA"])  # not base64; base64 of the wrong length
def test_malformed_checksum_is_invalid_digest(raw, bucket, algorithm, malformed):
    response = raw("PUT", f"/{bucket}/k", headers=checksum_headers(algorithm, malformed), body=BODY)
    assert (response.status, response.code) == (400, "InvalidDigest")


@pytest.mark.known_difference(moto="moto does not check Content-MD5 against the body")
def test_content_md5(raw, bucket):
    right = b64(hashlib.md5(BODY).digest())
    assert raw("PUT", f"/{bucket}/k", headers={"Content-MD5": right}, body=BODY).status == 200
    wrong = raw("PUT", f"/{bucket}/k", headers={"Content-MD5": b64(hashlib.md5(b"other").digest())}, body=BODY)
    assert (wrong.status, wrong.code) == (400, "BadDigest")
    malformed = raw("PUT", f"/{bucket}/k", headers={"Content-MD5": "not-an-md5"}, body=BODY)
    assert (malformed.status, malformed.code) == (400, "InvalidDigest")
