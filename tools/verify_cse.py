#!/usr/bin/python3
"""Independent check of a Google CSE wrapped key made by Coffre's key service face, from docs/hyok.md ("Wrapped key")
and docs/format.md §3 and §7 only.

usage: verify_cse.py DATA_DIR PASSPHRASE WRAPPED_KEY_BASE64 RESOURCE_NAME
Gets the key-version material with verify_kms.py (beside this script), parses the wrapped key, decrypts the data key with
AAD = §7 header || §3 canonical context {coffre:face: cse, cse:perimeter_id, cse:resource_name}, and computes Google's
resource key hash. Prints {"perimeter_id", "key" (hex), "resource_key_hash" (base64)}; exits 1 with a message on failure.
"""
import base64, hashlib, hmac, json, os, struct, subprocess, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

def lp(b):
    return struct.pack(">I", len(b)) + b

def canonical(context):
    pairs = sorted((k.encode(), v.encode()) for k, v in context.items())
    return struct.pack(">I", len(pairs)) + b"".join(lp(k) + lp(v) for k, v in pairs)

def main(data_dir, passphrase, wrapped_b64, resource):
    kms = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "verify_kms.py"), data_dir, passphrase],
                         capture_output=True, text=True)
    if kms.returncode != 0:
        sys.exit("verify_kms.py failed: " + kms.stderr.strip())
    versions = json.loads(kms.stdout)["versions"]
    w = base64.b64decode(wrapped_b64)
    if w[:4] != b"CCSE" or w[4] != 1:
        sys.exit("not a Coffre CSE wrapped key (magic CCSE, version 1)")
    (p,) = struct.unpack(">H", w[5:7])
    perimeter = w[7:7 + p].decode("utf-8")
    blob = w[7 + p:]
    if blob[:4] != b"CFRK" or blob[4] != 1:
        sys.exit("the wrapped key does not hold a §7 ciphertext")
    (m,) = struct.unpack(">H", blob[5:7])
    key_id = blob[7:7 + m].decode()
    (version,) = struct.unpack(">I", blob[7 + m:11 + m])
    header, nonce, body = blob[:11 + m], blob[11 + m:23 + m], blob[23 + m:]
    kek = bytes.fromhex(versions[f"{key_id}/{version}"])
    context = {"coffre:face": "cse", "cse:resource_name": resource, "cse:perimeter_id": perimeter}
    try:
        dek = AESGCM(kek).decrypt(nonce, body, header + canonical(context))
    except Exception:
        sys.exit("the data key does not decrypt for this resource name and perimeter")
    digest = hmac.new(dek, ("ResourceKeyDigest:" + resource + ":" + perimeter).encode(), hashlib.sha256).digest()
    print(json.dumps({"perimeter_id": perimeter, "key": dek.hex(), "resource_key_hash": base64.b64encode(digest).decode()}))

if __name__ == "__main__":
    main(*sys.argv[1:5])
