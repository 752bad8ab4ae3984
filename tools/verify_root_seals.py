#!/usr/bin/env python3
"""Independent check of Coffre's root seals (docs/format.md §6.1 and §6.5): Shamir unseal shares, a Shamir root seal,
passphrase seals (Argon2id and PBKDF2).

Written from the documentation alone, with Debian's python3-cryptography and python3-argon2: opens the passphrase seals,
decodes every share (prefix, base64url,
checksum), recombines shares by Lagrange interpolation over GF(2^8) (AES polynomial), checks that the threshold
recombines the secret and that one share fewer does not, recomputes each split from its coefficients, checks the seal's
share digests, opens the root seal with a quorum, and refuses the invalid shares.

Usage: verify_root_seals.py testdata/vectors/root-seals-v2.json     (exit 0 when every check passes)
"""
import base64
import hashlib
import itertools
import json
import struct
import sys

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "coffre-share:"
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def gf_mul(a, b):
    p = 0
    for _ in range(8):
        if b & 1:
            p ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return p


def gf_inv(a):
    # Brute force is fine for a verifier: the field has 255 nonzero elements.
    return next(x for x in range(1, 256) if gf_mul(a, x) == 1)


def decode_share(text):
    """(threshold, index, value) or None when the share is malformed or its checksum fails."""
    text = text.strip()
    if not text.startswith(PREFIX):
        return None
    body = text[len(PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        return None
    if len(raw) != 39 or raw[0] != 1 or raw[2] == 0:
        return None
    if hashlib.sha256(b"coffre-share" + raw[:35]).digest()[:4] != raw[35:]:
        return None
    return raw[1], raw[2], raw[3:35]


def encode_share(threshold, index, value):
    raw = bytes([1, threshold, index]) + value
    raw += hashlib.sha256(b"coffre-share" + raw).digest()[:4]
    return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def combine(shares):
    """shares: [(index, value)] -> secret, by Lagrange interpolation at 0."""
    secret = bytearray(len(shares[0][1]))
    for i, (xi, yi) in enumerate(shares):
        num = den = 1
        for j, (xj, _) in enumerate(shares):
            if j != i:
                num = gf_mul(num, xj)
                den = gf_mul(den, xj ^ xi)
        basis = gf_mul(num, gf_inv(den))
        for b in range(len(secret)):
            secret[b] ^= gf_mul(yi[b], basis)
    return bytes(secret)


def split(secret, n, k, coefficients):
    shares = []
    for x in range(1, n + 1):
        value = bytearray()
        for i, s in enumerate(secret):
            coeffs = [s] + [coefficients[i * (k - 1) + d] for d in range(k - 1)]
            y, power = 0, 1
            for c in coeffs:
                y ^= gf_mul(c, power)
                power = gf_mul(power, x)
            value.append(y)
        shares.append(bytes(value))
    return shares


def lp(b):
    return struct.pack(">I", len(b)) + b


def share_digest(deployment_id, index, value):
    return hashlib.sha256(b"coffre-share-digest" + lp(deployment_id.encode()) + bytes([index]) + value).digest()


def subsets(n, k, limit=12):
    combos = itertools.combinations(range(n), k)
    return list(itertools.islice(combos, limit)) + [tuple(range(n - k, n))]


def main(path):
    vectors = json.load(open(path))
    for v in vectors["splits"]:
        k, n = v["threshold"], v["shares_count"]
        secret = bytes.fromhex(v["secret"])
        decoded = [decode_share(s) for s in v["shares"]]
        check(all(d is not None for d in decoded) and len(decoded) == n, f"{k}-of-{n}: every share decodes")
        check([d[1] for d in decoded] == list(range(1, n + 1)) and all(d[0] == k for d in decoded), f"{k}-of-{n}: indexes and threshold")
        values = split(secret, n, k, bytes.fromhex(v["coefficients"]))
        check([encode_share(k, i + 1, y) for i, y in enumerate(values)] == v["shares"], f"{k}-of-{n}: split recomputed from the coefficients")
        for chosen in subsets(n, k):
            check(combine([(decoded[i][1], decoded[i][2]) for i in chosen]) == secret, f"{k}-of-{n}: shares {chosen} recombine")
        for chosen in subsets(n, k - 1):
            check(combine([(decoded[i][1], decoded[i][2]) for i in chosen]) != secret, f"{k}-of-{n}: {k - 1} shares {chosen} do not")

    seal = vectors["root_seal"]["file"]
    check(seal["format"] == "coffre-root-seal" and seal["version"] == 2 and seal["protection"] == "shamir", "root seal header")
    shares = [decode_share(s) for s in vectors["root_seal"]["shares"]]
    digests = [base64.b64decode(d) for d in seal["share_digests"]]
    check(len(shares) == seal["shares"] == len(digests), "root seal share count")
    for t, index, value in shares:
        check(t == seal["threshold"] and share_digest(seal["deployment_id"], index, value) == digests[index - 1], f"seal share {index} matches its digest")
    aad = lp(b"coffre-root-seal") + struct.pack(">I", seal["version"]) + lp(seal["deployment_id"].encode())
    b = lambda name: base64.b64decode(seal[name])
    for chosen in subsets(len(shares), seal["threshold"]):
        seal_key = combine([(shares[i][1], shares[i][2]) for i in chosen])
        root_key = AESGCM(seal_key).decrypt(b("nonce"), b("ciphertext") + b("tag"), aad)
        check(root_key.hex() == vectors["root_seal"]["root_key"], f"root seal opens with shares {chosen}")

    for v in vectors["passphrase_seals"]:
        s = v["file"]
        b = lambda name: base64.b64decode(s[name])
        passphrase = v["passphrase"].encode("utf-8")
        if s["version"] == 1:
            check(s["kdf"] == "pbkdf2-sha256", "version 1 seals are PBKDF2")
            seal_key = hashlib.pbkdf2_hmac("sha256", passphrase, b("salt"), s["iterations"], 32)
        else:
            check(s["protection"] == "passphrase" and s["kdf"] == "argon2id", "version 2 passphrase seal is Argon2id")
            seal_key = hash_secret_raw(passphrase, b("salt"), time_cost=s["iterations"], memory_cost=s["memory_kib"],
                                       parallelism=s["parallelism"], hash_len=32, type=Type.ID, version=19)
        aad = lp(b"coffre-root-seal") + struct.pack(">I", s["version"]) + lp(s["deployment_id"].encode())
        check(AESGCM(seal_key).decrypt(b("nonce"), b("ciphertext") + b("tag"), aad).hex() == v["root_key"], f"{s['kdf']} seal opens with its passphrase")

    for invalid in vectors["invalid_shares"]:
        d = decode_share(invalid["share"])
        refused = d is None or d[0] != seal["threshold"] or d[1] > len(digests) or share_digest(seal["deployment_id"], d[1], d[2]) != digests[d[1] - 1]
        check(refused, "refused: " + invalid["description"])

    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
