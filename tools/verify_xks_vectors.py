#!/usr/bin/python3
"""Independent check of the XKS face's vectors (testdata/vectors/xks-v1.json), from docs/xks.md only.

usage: verify_xks_vectors.py VECTORS.json [--write]
For each case: ciphertextMetadata = 01 || u32be(key version); AES-GCM associated data =
u16be(len(aad)) || aad || u8(len(metadata)) || metadata; AES-256-GCM with the case's key and nonce;
ciphertextDataIntegrityValue = SHA-256(aad || metadata || iv || ciphertext || tag). Also recomputes the
integrity value of the XKS proxy API specification's own example (Appendix C).
With --write, fills in the computed fields of the cases (how the file was made). Needs `cryptography`.
"""
import base64, hashlib, json, struct, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

def compute(case):
    aad = bytes.fromhex(case.get("aad", ""))
    metadata = b"\x01" + struct.pack(">I", case["key_version"])
    associated = struct.pack(">H", len(aad)) + aad + bytes([len(metadata)]) + metadata
    sealed = AESGCM(bytes.fromhex(case["key"])).encrypt(bytes.fromhex(case["nonce"]), bytes.fromhex(case["plaintext"]), associated)
    ciphertext, tag = sealed[:-16], sealed[-16:]
    cdiv = hashlib.sha256(aad + metadata + bytes.fromhex(case["nonce"]) + ciphertext + tag).digest()
    return {"metadata": metadata.hex(), "associated_data": associated.hex(), "ciphertext": ciphertext.hex(),
            "tag": tag.hex(), "integrity_value": base64.b64encode(cdiv).decode()}

def main(path, write):
    vectors = json.load(open(path, encoding="utf-8"))
    passed = failed = 0
    for case in vectors["cases"]:
        expected = compute(case)
        if write:
            case.update(expected)
        for field, value in expected.items():
            if case.get(field) == value:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {case['name']}: {field} is {case.get(field)}, computed {value}")
    spec = vectors["spec_integrity_example"]
    concatenated = b"".join(bytes.fromhex(spec[f]) for f in ("aad", "metadata", "iv", "ciphertext", "tag"))
    if base64.b64encode(hashlib.sha256(concatenated).digest()).decode() == spec["integrity_value"]:
        passed += 1
    else:
        failed += 1
        print("FAIL the specification's Appendix C example")
    if write:
        json.dump(vectors, open(path, "w", encoding="utf-8"), indent=2)
        open(path, "a", encoding="utf-8").write("\n")
    print(f"{passed} passed, {failed} failed (xks vectors)")
    sys.exit(1 if failed else 0)

if __name__ == "__main__":
    main(sys.argv[1], "--write" in sys.argv[2:])
