#!/usr/bin/env python3
"""Independent check of testdata/vectors/sigv2-v1.json (docs/signing-v2.md): rebuilds each request's Signature
Version 2 string to sign from the S3 developer guide's rules, and its HMAC-SHA1 signature. Standard library only.
Usage: verify_sigv2_vectors.py testdata/vectors/sigv2-v1.json"""
import base64
import hashlib
import hmac
import json
import sys
from urllib.parse import unquote

SUBRESOURCES = {
    "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory", "lifecycle", "location", "logging",
    "metrics", "notification", "object-lock", "partNumber", "policy", "replication", "requestPayment", "restore", "select",
    "select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website",
    "response-cache-control", "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires",
}


def string_to_sign(v):
    headers = {}
    for name, value in v["headers"]:
        headers.setdefault(name.lower(), []).append(value.strip())
    query = [p.split("=", 1) for p in v["query"].split("&") if p]
    params = {p[0]: unquote(p[1]) if len(p) == 2 else None for p in query}
    presigned = "Signature" in params and "AWSAccessKeyId" in params
    if presigned:
        date = params["Expires"]
    elif "x-amz-date" in headers:
        date = ""
    else:
        date = headers.get("date", [""])[0]
    amz = {n: ",".join(vals) for n, vals in headers.items() if n.startswith("x-amz-")}
    if presigned:
        for n, val in params.items():
            if n.lower().startswith("x-amz-"):
                amz[n.lower()] = val
    resource = ("/" + v["host_bucket"] if v["host_bucket"] else "") + (v["path"] or "/")
    subs = sorted((p for p in query if p[0] in SUBRESOURCES), key=lambda p: p[0])
    if subs:
        resource += "?" + "&".join(p[0] + ("=" + unquote(p[1]) if len(p) == 2 else "") for p in subs)
    first = lambda n: headers.get(n, [""])[0]
    return "\n".join([v["method"], first("content-md5"), first("content-type"), date]) + "\n" + \
        "".join(f"{n}:{amz[n]}\n" for n in sorted(amz)) + resource


def main(path):
    doc = json.load(open(path, encoding="utf-8"))
    secret = doc["secret_access_key"].encode()
    failures = 0
    for v in doc["vectors"]:
        sts = string_to_sign(v)
        sig = base64.b64encode(hmac.new(secret, sts.encode("utf-8"), hashlib.sha1).digest()).decode()
        ok = sts == v["string_to_sign"] and sig == v["signature"]
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} sigv2 {v['name']}" + ("" if ok else f": string to sign {sts!r}, signature {sig}"))
    if failures:
        sys.exit(f"{failures} SigV2 vector(s) failed")
    print(f"all {len(doc['vectors'])} SigV2 vectors verified")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/vectors/sigv2-v1.json")
