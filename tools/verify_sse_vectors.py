#!/usr/bin/env python3
"""Independent check of testdata/vectors/sse-v1.json against docs/format.md §5.3 (SSE content keys, SSE-C key check).

Written from the specification with Debian's python3-cryptography; the stream format (§1-§2) comes from
verify_vectors.py. For each object vector: the stream decrypts under the content key derived from the data key
and the customer key, and fails under the data key alone or under another customer key — Coffre alone cannot
read an SSE-C object. Usage: verify_sse_vectors.py testdata/vectors/sse-v1.json [--generate]
"""
import hashlib
import hmac
import json
import os
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_vectors import Invalid, decrypt, encrypt  # noqa: E402


def content_key(data_key, customer_key, context):
    """§5.3: the data key itself without customer key and context, else HKDF-SHA256 over both keys."""
    if customer_key is None and context is None:
        return data_key
    ctx = (context or "").encode()
    info = b"coffre/v1/content-key" + struct.pack(">I", len(ctx)) + ctx
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(data_key + (customer_key or b""))


def key_check(salt, customer_key):
    """§5.3: HMAC-SHA256(key = salt, message = "coffre/v1/sse-c-key" || customer key)."""
    return hmac.new(salt, b"coffre/v1/sse-c-key" + customer_key, hashlib.sha256).digest()


def stream_ad(bucket, name, key_id, part):
    """§5: "coffre/v1/object" || lp(bucket) || lp(name) || lp(key id) || u32(part)."""
    out = b"coffre/v1/object"
    for field in (bucket, name, key_id):
        b = field.encode()
        out += struct.pack(">I", len(b)) + b
    return out + struct.pack(">I", part)


def h(v):
    return None if v is None else bytes.fromhex(v)


def check(path):
    with open(path) as f:
        vectors = json.load(f)
    failures = 0
    for i, v in enumerate(vectors["content_keys"]):
        got = content_key(h(v["data_key"]), h(v["customer_key"]), v["context"])
        if got.hex() != v["content_key"]:
            print("content key %d: mismatch" % i)
            failures += 1
    for i, v in enumerate(vectors["key_checks"]):
        if key_check(h(v["salt"]), h(v["customer_key"])).hex() != v["hmac"]:
            print("key check %d: mismatch" % i)
            failures += 1
    for i, v in enumerate(vectors["objects"]):
        ad = stream_ad(v["bucket"], v["name"], v["key_id"], v["part"])
        data_key, customer = h(v["data_key"]), h(v["customer_key"])
        stream = h(v["stream"])
        if decrypt(content_key(data_key, customer, v["context"]), ad, stream) != h(v["plaintext"]):
            print("object %d: plaintext mismatch" % i)
            failures += 1
        others = [data_key] + [content_key(data_key, bytes(32), v["context"])] if customer is not None else []
        for attempt in others:
            try:
                decrypt(attempt, ad, stream)
                print("object %d: decrypts without the customer key" % i)
                failures += 1
            except Invalid:
                pass
    total = len(vectors["content_keys"]) + len(vectors["key_checks"]) + len(vectors["objects"])
    print("sse vectors: %d checked, %d failed" % (total, failures))
    return 1 if failures else 0


def generate(path):
    """Writes the vector file (run once; the C# tests and check() then read it)."""
    dk = bytes(range(32))
    ck = bytes(range(0xA0, 0xC0))
    ctx = "eyJkZXBhcnRtZW50IjoiZmluYW5jZSJ9"  # base64 of {"department":"finance"}
    cases = [(dk, None, None), (dk, ck, None), (dk, None, ctx), (dk, ck, ctx)]
    salt = bytes(range(0x40, 0x60))
    pt = b"SSE-C: Coffre's data key AND the client's key." * 3
    objects = []
    for (d, c, x), part in ((cases[1], 0), (cases[3], 2)):
        ad = stream_ad("finance", "reports/q3.pdf", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", part)
        objects.append({"bucket": "finance", "name": "reports/q3.pdf", "key_id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                        "part": part, "data_key": d.hex(), "customer_key": c.hex(), "context": x, "plaintext": pt.hex(),
                        "stream": encrypt(content_key(d, c, x), ad, bytes(range(32)), 8, pt).hex()})
    out = {
        "description": "docs/format.md §5.3: SSE content keys and the SSE-C key check; checked by tools/verify_sse_vectors.py and tests/Coffre.Objects.Tests/SseVectorTests.cs",
        "content_keys": [{"data_key": d.hex(), "customer_key": None if c is None else c.hex(), "context": x,
                          "content_key": content_key(d, c, x).hex()} for d, c, x in cases],
        "key_checks": [{"customer_key": ck.hex(), "salt": salt.hex(), "hmac": key_check(salt, ck).hex()}],
        "objects": objects,
    }
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "testdata/vectors/sse-v1.json"
    if "--generate" in sys.argv:
        generate(target)
    sys.exit(check(target))
