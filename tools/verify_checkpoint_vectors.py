#!/usr/bin/python3
"""Independent check of testdata/vectors/audit-checkpoints-v2.json, from docs/format.md §9 only.

usage: verify_checkpoint_vectors.py VECTOR_FILE
Rebuilds every checkpoint's signed bytes and digest from its fields, verifies its ECDSA P-256 signature
(IEEE P1363) with the vector's public key, checks the chain (numbers 1, 2, 3..., each `previous` the digest of
the checkpoint before, the first chained one after the unchained one) and each published line, then checks that
every invalid chain is refused. Prints `N passed, 0 failed` (exit 0) or the failures (exit 1).
Needs Debian's python3-cryptography.
"""
import base64, hashlib, json, struct, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_der_public_key


def signed_bytes(c):
    h = bytes.fromhex(c["hash"])
    if c["version"] == 1:
        return b"coffre/v1/audit-checkpoint\0" + struct.pack(">Q", c["sequence"]) + h + c["time"].encode()
    return (b"coffre/v2/audit-checkpoint\0" + struct.pack(">QQ", c["number"], c["sequence"]) + h
            + bytes.fromhex(c["previous"]) + c["time"].encode())


def signature_ok(key, c):
    sig = bytes.fromhex(c["signature"])
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        key.verify(der, signed_bytes(c), ec.ECDSA(hashes.SHA256()))
        return True
    except Exception:
        return False


def chain_problem(key, chain):
    """None when the chain is valid, else why not."""
    before, before_number = bytes(32), 0
    last_seq = 0
    for c in chain:
        if not signature_ok(key, c):
            return f"bad signature at sequence {c['sequence']}"
        if c["version"] == 2:
            if c["number"] != before_number + 1:
                return f"checkpoint #{c['number']} after #{before_number}"
            if bytes.fromhex(c["previous"]) != before:
                return f"checkpoint #{c['number']} does not name the digest of the one before"
            if c["sequence"] < last_seq:
                return f"checkpoint #{c['number']} goes back in the trail"
            before_number = c["number"]
        before, last_seq = hashlib.sha256(signed_bytes(c)).digest(), c["sequence"]
    return None


def main(path):
    v = json.load(open(path, encoding="utf-8"))
    spki = base64.b64decode(v["public_key"])
    key = load_der_public_key(spki)
    passed, failures = 0, []

    def check(ok, what):
        nonlocal passed
        if ok:
            passed += 1
        else:
            failures.append(what)

    check(hashlib.sha256(spki).hexdigest() == v["fingerprint"], "fingerprint")
    for c in v["checkpoints"]:
        s = signed_bytes(c)
        check(s.hex() == c["signed"], f"signed bytes of sequence {c['sequence']}")
        check(hashlib.sha256(s).hexdigest() == c["digest"], f"digest of sequence {c['sequence']}")
        if c["version"] == 2:
            p = json.loads(c["published"])
            check(p["format"] == "coffre-audit-checkpoint" and p["version"] == 2 and p["number"] == c["number"]
                  and p["sequence"] == c["sequence"] and p["hash"] == c["hash"] and p["previous"] == c["previous"]
                  and p["time"] == c["time"] and p["signature"] == c["signature"]
                  and base64.b64decode(p["publicKey"]) == spki and p["publicKeyFingerprint"] == v["fingerprint"],
                  f"published line of checkpoint #{c['number']}")
    problem = chain_problem(key, v["checkpoints"])
    check(problem is None, f"valid chain refused: {problem}")
    for inv in v["invalid_chains"]:
        check(chain_problem(key, inv["checkpoints"]) is not None, f"invalid chain accepted: {inv['description']}")
    print(f"{passed} passed, {len(failures)} failed")
    for f in failures:
        print("FAILED:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(sys.argv[1])
