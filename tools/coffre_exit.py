#!/usr/bin/env python3
"""Leave Coffre with your data: decrypt every object a Coffre gateway stored, without Coffre.

Needs only Debian's python3-cryptography and python3-zfec (and Python's own sqlite3; to open a passphrase seal with a
python3-cryptography older than 44, python3-argon2 too, or give --root-key), and what docs/format.md
describes: the root seal and keys.db of the data directory (§6), the manifests the gateway writes beside every
object version (§12), the object streams (§1-§5) and, for erasure-coded buckets, the shares (§10).

    COFFRE_PASSPHRASE=... tools/coffre_exit.py --data DATA --store DIR [--store DIR ...] --out OUT
    tools/coffre_exit.py --root-key HEX --data DATA --store DIR --out OUT     (an unsealed root key instead)

Each --store is a backend's contents: a Coffre local-disk backend directory (its blobs/ layout), or a plain copy of an
S3 bucket (`aws s3 sync s3://BUCKET DIR`: one file per blob key). Give every backend of an erasure-coded bucket that
still exists: any K shares of each part rebuild it. The latest version of each object is written to
OUT/BUCKET/NAME, every version of a versioned bucket to OUT/.versions/BUCKET/NAME/VERSION-ID, and OUT/index.json lists
them with their metadata. Objects written with a customer key (SSE-C) need that key and are listed as skipped.
Exit 0 when every manifest found was decrypted, 2 otherwise.
"""
import argparse
import base64
import hashlib
import json
import os
import sqlite3
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_erasure import rebuild  # noqa: E402  (§10 shares, zfec)
from verify_vectors import Invalid, decrypt, wrap_aad  # noqa: E402  (§1-§3)


def lp(b):
    return struct.pack(">I", len(b)) + b


def context(pairs):
    """§3 canonical context."""
    out = struct.pack(">I", len(pairs))
    for k, v in sorted(pairs.items(), key=lambda kv: kv[0].encode()):
        out += lp(k.encode()) + lp(v.encode())
    return out


def argon2id(password, salt, t, m, p):
    """python3-cryptography has Argon2id from version 44; Debian's older one does not, and python3-argon2 stands in."""
    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
        return Argon2id(salt=salt, length=32, iterations=t, lanes=p, memory_cost=m).derive(password)
    except ImportError:
        from argon2.low_level import Type, hash_secret_raw
        return hash_secret_raw(password, salt, t, m, p, 32, Type.ID)


def root_key(data, passphrase):
    """§6.1: a passphrase seal (version 1 PBKDF2, version 2 Argon2id)."""
    s = json.load(open(os.path.join(data, "root.seal")))
    if s.get("protection", "passphrase") != "passphrase":
        sys.exit("root.seal is a %s root: unseal it with Coffre and pass --root-key instead" % s["protection"])
    b = lambda k: base64.b64decode(s[k])  # noqa: E731
    pw = passphrase.encode()
    if s["kdf"] == "pbkdf2-sha256":
        seal_key = hashlib.pbkdf2_hmac("sha256", pw, b("salt"), s["iterations"], 32)
    else:
        seal_key = argon2id(pw, b("salt"), s["iterations"], s["memory_kib"], s["parallelism"])
    aad = lp(b"coffre-root-seal") + struct.pack(">I", s["version"]) + lp(s["deployment_id"].encode())
    try:
        return AESGCM(seal_key).decrypt(b("nonce"), b("ciphertext") + b("tag"), aad), s["deployment_id"]
    except InvalidTag:
        sys.exit("the passphrase does not unseal root.seal")


def key_versions(data, root, deployment_id):
    """§6.2-§6.3: every symmetric key version keys.db holds, unwrapped by the root key."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "keys.db"), uri=True)
    keks = {}
    for key_id, version, material in db.execute(
            "SELECT v.key_id, v.version, v.material FROM key_versions v JOIN keys k ON k.id = v.key_id "
            "WHERE v.material IS NOT NULL AND k.key_spec = 'SYMMETRIC_DEFAULT'"):
        aad = b"coffre/v1/kek" + lp(deployment_id.encode()) + lp(key_id.encode()) + struct.pack(">I", version)
        keks[(key_id, version)] = AESGCM(root).decrypt(material[1:13], material[13:], aad)
    return keks


def unwrap(keks, key_id, version, wrapped, ctx):
    """§3: a data key wrapped under a key version, for its context."""
    kek = keks.get((key_id, version))
    if kek is None:
        raise Invalid("key %s version %d is not in keys.db (destroyed?)" % (key_id, version))
    if len(wrapped) != 61 or wrapped[0] != 1:
        raise Invalid("not a wrapped data key")
    try:
        return AESGCM(kek).decrypt(wrapped[1:13], wrapped[13:], wrap_aad(key_id, version, context(ctx)))
    except InvalidTag:
        raise Invalid("the wrapped data key does not open under key %s version %d" % (key_id, version))


class Stores:
    """Every blob of the given backend copies, by key: whole blobs, or erasure shares (several per key)."""

    def __init__(self, dirs):
        self.files = {}
        for d in dirs:
            if os.path.isdir(os.path.join(d, "blobs")):
                for fan in os.listdir(os.path.join(d, "blobs")):
                    for name in os.listdir(os.path.join(d, "blobs", fan)):
                        if name.endswith(".m") and not name.startswith(".tmp-"):
                            meta = json.load(open(os.path.join(d, "blobs", fan, name)))
                            body = os.path.join(d, "blobs", fan, "%s.%s.d" % (name[:-2], meta["generation"]))
                            self.files.setdefault(meta["key"], []).append(body)
            else:
                for base, _, names in os.walk(d):
                    for name in names:
                        path = os.path.join(base, name)
                        self.files.setdefault(os.path.relpath(path, d).replace(os.sep, "/"), []).append(path)

    def keys(self):
        return sorted(self.files)

    def read(self, key):
        copies = [open(p, "rb").read() for p in self.files.get(key, [])]
        if not copies:
            raise Invalid("blob %s is at no store given" % key)
        whole = [c for c in copies if c[:4] != b"CFEC"]
        return whole[0] if whole else rebuild(copies)


def stream_ad(label, bucket, name, key_id, number):
    """§5: label || lp(bucket) || lp(name) || lp(key id) || u32(number)."""
    return label + lp(bucket.encode()) + lp(name.encode()) + lp(key_id.encode()) + struct.pack(">I", number)


def open_manifest(stores, keks, key):
    """§12: a file envelope (§4) and the JSON sealed under the manifest's data key."""
    blob = stores.read(key)
    if blob[:5] != b"CFRF\x01":
        raise Invalid("not a manifest envelope")
    m = struct.unpack(">H", blob[5:7])[0]
    key_id = blob[7:7 + m].decode()
    version = struct.unpack(">I", blob[7 + m:11 + m])[0]
    w = blob[11 + m]
    envelope = blob[:12 + m + w]
    dek = unwrap(keks, key_id, version, blob[12 + m:12 + m + w], {"coffre:manifest": key})
    doc = json.loads(decrypt(dek, envelope, blob[len(envelope):]))
    if doc["Format"] != "coffre-manifest" or doc["Version"] != 1:
        raise Invalid("unknown manifest format")
    return doc["Manifest"]


def export(stores, keks, m):
    """The plaintext of one object version and its metadata; None for an SSE-C object (the client's key is needed)."""
    bucket, name, key = m["Bucket"], m["Name"], m["DataKey"]
    dek = unwrap(keks, key["KeyId"], key["KeyVersion"], base64.b64decode(key["Wrapped"]),
                 {"coffre:bucket": bucket, "coffre:object": name})
    meta = json.loads(decrypt(dek, stream_ad(b"coffre/v1/metadata", bucket, name, key["KeyId"], 0),
                              base64.b64decode(m["SealedMetadata"])))
    enc = meta.get("Encryption") or {}
    if enc.get("CustomerKeyHmac"):
        return None, meta
    content_key = dek
    if enc.get("Context"):  # §5.3: the SSE-KMS context is bound through a derived content key
        ctx = enc["Context"].encode()
        content_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                           info=b"coffre/v1/content-key" + struct.pack(">I", len(ctx)) + ctx).derive(dek)
    body = b"".join(decrypt(content_key, stream_ad(b"coffre/v1/object", bucket, name, key["KeyId"], p["Number"]),
                            stores.read(p["Blob"])) for p in m["Parts"])
    if len(body) != m["Size"]:
        raise Invalid("%s/%s: %d bytes decrypted, the manifest says %d" % (bucket, name, len(body), m["Size"]))
    return body, meta


def safe_path(out, *parts):
    for p in parts:
        if any(c in ("", ".", "..") for c in p.split("/")):
            raise Invalid("the name %r cannot be a file name; export it by hand" % p)
    return os.path.join(out, *parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the data directory holding root.seal and keys.db")
    ap.add_argument("--root-key", help="the unsealed root key in hex, instead of COFFRE_PASSPHRASE")
    ap.add_argument("--store", action="append", required=True, help="a backend's contents (repeat for each backend)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.root_key:
        root, deployment_id = bytes.fromhex(a.root_key), json.load(open(os.path.join(a.data, "root.seal")))["deployment_id"]
    else:
        root, deployment_id = root_key(a.data, os.environ.get("COFFRE_PASSPHRASE") or sys.exit("set COFFRE_PASSPHRASE or give --root-key"))
    keks = key_versions(a.data, root, deployment_id)
    stores = Stores(a.store)
    manifests, problems, skipped = [], [], []
    for key in stores.keys():
        if key.startswith("objects/") and key.endswith(".manifest"):
            try:
                manifests.append(open_manifest(stores, keks, key))
            except (Invalid, ValueError, KeyError) as e:
                problems.append((key, str(e)))
    latest = {}
    for m in manifests:
        k = (m["Bucket"], m["Name"])
        if k not in latest or m["Modified"] > latest[k]["Modified"]:
            latest[k] = m
    index = []
    for m in sorted(manifests, key=lambda m: (m["Bucket"], m["Name"], m["Modified"])):
        try:
            body, meta = export(stores, keks, m)
        except Invalid as e:
            problems.append(("%s/%s" % (m["Bucket"], m["Name"]), str(e)))
            continue
        if body is None:
            skipped.append("%s/%s" % (m["Bucket"], m["Name"]))
            continue
        paths = []
        try:
            if latest[(m["Bucket"], m["Name"])] is m:
                paths.append(safe_path(a.out, m["Bucket"], m["Name"]))
            if m["VersionId"] != "null":
                paths.append(safe_path(a.out, ".versions", m["Bucket"], m["Name"], m["VersionId"]))
        except Invalid as e:
            problems.append(("%s/%s" % (m["Bucket"], m["Name"]), str(e)))
            continue
        for path in paths:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(body)
        index.append({"bucket": m["Bucket"], "name": m["Name"], "versionId": m["VersionId"], "modified": m["Modified"],
                      "size": m["Size"], "etag": m["ETag"], "latest": latest[(m["Bucket"], m["Name"])] is m,
                      "contentType": meta.get("ContentType"), "metadata": meta.get("User", {})})
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump({"objects": index, "skippedCustomerKey": skipped, "problems": [{"blob": b, "problem": p} for b, p in problems]}, f, indent=1)
    print("%d object version(s) written to %s, %d skipped (SSE-C), %d problem(s)" % (len(index), a.out, len(skipped), len(problems)))
    for b, p in problems:
        print("NOT EXPORTED %s: %s" % (b, p), file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
