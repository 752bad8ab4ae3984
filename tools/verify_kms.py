#!/usr/bin/python3
"""Independent check of a Coffre key-manager data directory, from docs/format.md §6 and §8 only.

usage: verify_kms.py DATA_DIR PASSPHRASE
Unseals root.seal (§6.1), unwraps every stored key version (§6.2), verifies the audit chain (§8)
and the signed audit checkpoints, unchained and chained (§9).
Prints one JSON object: {"deployment_id", "versions": {"<key id>/<version>": "<material hex>"}, "audit": n, "checkpoints": m}
and exits 1 with a message on the first failure. Needs the `cryptography` package.
"""
import base64, hashlib, json, os, sqlite3, struct, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

def lp(b):
    return struct.pack(">I", len(b)) + b

def main(data_dir, passphrase):
    s = json.load(open(os.path.join(data_dir, "root.seal"), encoding="utf-8"))
    assert s["format"] == "coffre-root-seal" and s["version"] in (1, 2)
    b = lambda k: base64.b64decode(s[k])
    if s["version"] == 1:
        assert s["kdf"] == "pbkdf2-sha256"
        seal_key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), b("salt"), s["iterations"], 32)
    else:
        assert s["protection"] == "passphrase" and s["kdf"] == "argon2id", "only passphrase seals open with a passphrase"
        from argon2.low_level import Type, hash_secret_raw  # Debian python3-argon2
        seal_key = hash_secret_raw(passphrase.encode(), b("salt"), time_cost=s["iterations"], memory_cost=s["memory_kib"],
                                   parallelism=s["parallelism"], hash_len=32, type=Type.ID, version=19)
    aad = lp(b"coffre-root-seal") + struct.pack(">I", s["version"]) + lp(s["deployment_id"].encode())
    try:
        root_key = AESGCM(seal_key).decrypt(b("nonce"), b("ciphertext") + b("tag"), aad)
    except Exception:
        sys.exit("the passphrase does not unseal root.seal")

    db = sqlite3.connect("file:" + os.path.join(data_dir, "keys.db") + "?mode=ro", uri=True)
    (deployment,) = db.execute("SELECT value FROM meta WHERE name = 'deployment_id'").fetchone()
    assert deployment == s["deployment_id"], "keys.db belongs to another deployment"
    versions = {}
    for key_id, version, material in db.execute("SELECT key_id, version, material FROM key_versions WHERE material IS NOT NULL"):
        assert len(material) == 61 and material[0] == 1
        aad = b"coffre/v1/kek" + lp(deployment.encode()) + lp(key_id.encode()) + struct.pack(">I", version)
        versions[f"{key_id}/{version}"] = AESGCM(root_key).decrypt(material[1:13], material[13:], aad).hex()

    def opt(x):
        return b"\0" if x is None else b"\1" + lp(x.encode())
    prev, n = bytes(32), 0
    for seq, t, p, op, kid, kname, kv, ctx, res, ph, h in db.execute(
            "SELECT seq, time, principal, operation, key_id, key_name, key_version, context, result, prev_hash, hash FROM audit ORDER BY seq"):
        n += 1
        rec = (b"coffre/v1/audit" + struct.pack(">Q", seq) + lp(t.encode()) + lp(p.encode()) + lp(op.encode())
               + opt(kid) + opt(kname) + (b"\0" if kv is None else b"\1" + struct.pack(">I", kv)) + opt(ctx) + lp(res.encode()))
        if seq != n or ph != prev or hashlib.sha256(prev + rec).digest() != h:
            sys.exit(f"audit chain broken at record {seq}")
        prev = h
    hashes = dict(db.execute("SELECT seq, hash FROM audit"))
    m = 0
    tables = {t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "audit_checkpoints" in tables:
        from cryptography.hazmat.primitives import hashes as h_
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
        from cryptography.hazmat.primitives.serialization import load_der_public_key
        row = db.execute("SELECT public_key FROM audit_signing_key WHERE id = 1").fetchone()
        # Unchained (v1) checkpoints first, then the chain (v2, §9): each names the SHA-256 of the one before.
        checkpoints = [(b"coffre/v1/audit-checkpoint\0" + struct.pack(">Q", seq) + hsh + t.encode(), seq, hsh, sig, None, None)
                       for seq, hsh, t, sig in db.execute("SELECT seq, hash, time, signature FROM audit_checkpoints ORDER BY seq")]
        if "audit_checkpoint_chain" in tables:
            checkpoints += [(b"coffre/v2/audit-checkpoint\0" + struct.pack(">QQ", num, seq) + hsh + prev + t.encode(), seq, hsh, sig, num, prev)
                            for num, seq, hsh, prev, t, sig in db.execute(
                                "SELECT number, seq, hash, previous, time, signature FROM audit_checkpoint_chain ORDER BY number")]
        before, before_num = bytes(32), 0
        for signed, seq, hsh, sig, num, prev in checkpoints:
            if row is None:
                sys.exit("checkpoints exist but the signing key is missing")
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
            try:
                load_der_public_key(row[0]).verify(der, signed, ec.ECDSA(h_.SHA256()))
            except Exception:
                sys.exit(f"audit checkpoint of record {seq} has an invalid signature")
            if num is not None and (num != before_num + 1 or prev != before):
                sys.exit(f"audit checkpoint #{num} does not follow the one before it (a checkpoint was removed or replaced)")
            if hashes.get(seq) != hsh:
                sys.exit(f"audit record {seq} is missing or differs from its signed checkpoint")
            before, before_num = hashlib.sha256(signed).digest(), (num or 0)
            m += 1
    print(json.dumps({"deployment_id": deployment, "versions": versions, "audit": n, "checkpoints": m}))

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
