#!/usr/bin/env python3
"""Independent check of testdata/vectors/format-v1.json against docs/format.md (Coffre format v1).

Written from the specification alone, with the `cryptography` package (works with Debian's 38.x
and current releases). Usage: verify_vectors.py testdata/vectors/format-v1.json
"""
import hashlib
import hmac
import json
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Invalid(Exception):
    pass


def derive(dek, header, ad):
    """§1: okm = HKDF-SHA256(DEK, salt, "coffre/v1/stream" || header[0..8] || AD, 64)."""
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=header[8:40],
               info=b"coffre/v1/stream" + header[:8] + ad).derive(dek)
    return okm[:32], okm[32:]


def nonce(i, final):
    """§2: 00 00 00 || u64(i) || final."""
    return b"\0\0\0" + i.to_bytes(8, "big") + (b"\1" if final else b"\0")


def decrypt(dek, ad, stream):
    if len(stream) < 72:
        raise Invalid("header: truncated")
    h = stream[:72]
    if h[:4] != b"CFRE" or h[4] != 1 or not 8 <= h[5] <= 24 or h[6:8] != b"\0\0":
        raise Invalid("header: fields")
    key, commitment = derive(dek, h, ad)
    if not hmac.compare_digest(commitment, h[40:72]):
        raise Invalid("header: commitment")
    s, b = 1 << h[5], len(stream) - 72
    n = max(1, -(-b // (s + 16)))
    last = b - (n - 1) * (s + 16)
    if b < 16 or last < 16 or (n > 1 and last == 16):
        raise Invalid("length")
    gcm, out = AESGCM(key), []
    for i in range(n):
        seg = stream[72 + i * (s + 16):72 + (i + 1) * (s + 16)]
        try:
            out.append(gcm.decrypt(nonce(i, i == n - 1), seg, None))
        except InvalidTag:
            raise Invalid("segment %d" % i)
    return b"".join(out)


def encrypt(dek, ad, salt, e, pt):
    prefix = b"CFRE\x01" + bytes([e]) + b"\0\0"
    key, commitment = derive(dek, prefix + salt, ad)
    s = 1 << e
    n = max(1, -(-len(pt) // s))
    gcm = AESGCM(key)
    segs = [gcm.encrypt(nonce(i, i == n - 1), pt[i * s:(i + 1) * s], None) for i in range(n)]
    return prefix + salt + commitment + b"".join(segs)


def wrap_aad(key_id, version, context):
    """§3: "coffre/v1/wrap" || lp(key id) || u32(version) || lp(context)."""
    kid = key_id.encode("utf-8")
    return (b"coffre/v1/wrap" + len(kid).to_bytes(4, "big") + kid + version.to_bytes(4, "big")
            + len(context).to_bytes(4, "big") + context)


def unwrap(v):
    w = bytes.fromhex(v["wrapped"])
    if len(w) != 61 or w[0] != 1:
        raise InvalidTag()
    return AESGCM(bytes.fromhex(v["kek"])).decrypt(
        w[1:13], w[13:], wrap_aad(v["key_id"], v["key_version"], bytes.fromhex(v["context"])))


def check_stream(v):
    dek, ad, salt = (bytes.fromhex(v[k]) for k in ("dek", "ad", "salt"))
    pt = bytes(i % 251 for i in range(v["plaintext_length"]))
    assert hashlib.sha256(pt).hexdigest() == v["plaintext_sha256"], "plaintext rule"
    mine = encrypt(dek, ad, salt, v["e"], pt)
    assert len(mine) == v["stream_length"] and hashlib.sha256(mine).hexdigest() == v["stream_sha256"], "re-encryption"
    stream = bytes.fromhex(v["stream"]) if "stream" in v else mine
    assert stream == mine, "re-encryption"
    assert decrypt(dek, ad, stream) == pt, "decryption"


def check_invalid_stream(v):
    try:
        decrypt(bytes.fromhex(v["dek"]), bytes.fromhex(v["ad"]), bytes.fromhex(v["stream"]))
    except Invalid:
        return
    raise AssertionError("accepted")


def check_wrap(v):
    assert unwrap(v) == bytes.fromhex(v["dek"]), "unwrap"
    w = bytes.fromhex(v["wrapped"])
    again = AESGCM(bytes.fromhex(v["kek"])).encrypt(
        bytes.fromhex(v["nonce"]), bytes.fromhex(v["dek"]), wrap_aad(v["key_id"], v["key_version"], bytes.fromhex(v["context"])))
    assert w == b"\1" + bytes.fromhex(v["nonce"]) + again, "re-wrap"


def check_invalid_wrap(v):
    try:
        unwrap(v)
    except InvalidTag:
        return
    raise AssertionError("accepted")


def main(path):
    doc = json.load(open(path))
    checks = [("streams", check_stream), ("invalid_streams", check_invalid_stream),
              ("key_wraps", check_wrap), ("invalid_key_wraps", check_invalid_wrap)]
    passed = failed = 0
    for section, check in checks:
        for v in doc[section]:
            try:
                check(v)
                passed += 1
            except Exception as e:  # report every failure, keep going
                failed += 1
                print("FAIL %s/%s: %s %s" % (section, v["name"], type(e).__name__, e))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "testdata/vectors/format-v1.json"))
