#!/usr/bin/python3
"""Independent check of sealed RSA private keys (testdata/vectors/rsa-keys-v1.json), from docs/format.md §6.2 only.

usage: verify_rsa_keys.py VECTORS.json
For each version: material = u16be(n) || wrapped_vk (n bytes) || nonce (12) || AES-256-GCM(vk, PKCS#8) || tag (16), where
wrapped_vk = 01 || nonce (12) || AES-256-GCM(root_key, vk, material_aad) || tag and
material_aad = "coffre/v1/kek" || lp(deployment id) || lp(key id) || u32be(version), and the private key's AAD is
"coffre/v1/rsa-private-key" || material_aad. The opened private key must have the vector's public key and decrypt its
RSAES_OAEP_SHA_256 ciphertext; every invalid case must be refused. Needs `cryptography` (Debian's python3-cryptography).
"""
import json, struct, sys
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

def lp(text):
    data = text.encode("utf-8")
    return struct.pack(">I", len(data)) + data

def material_aad(deployment_id, key_id, version):
    return b"coffre/v1/kek" + lp(deployment_id) + lp(key_id) + struct.pack(">I", version)

def open_private_key(root_key, deployment_id, key_id, version, material):
    """The PKCS#8 DER private key sealed in a version's material; raises InvalidTag (or ValueError) if it does not open."""
    (n,) = struct.unpack(">H", material[:2])
    wrapped_vk, rest = material[2:2 + n], material[2 + n:]
    if len(wrapped_vk) != 61 or wrapped_vk[0] != 1 or len(rest) < 12 + 16 + 1:
        raise ValueError("malformed material")
    aad = material_aad(deployment_id, key_id, version)
    vk = AESGCM(root_key).decrypt(wrapped_vk[1:13], wrapped_vk[13:], aad)
    return AESGCM(vk).decrypt(rest[:12], rest[12:], b"coffre/v1/rsa-private-key" + aad)

def main(path):
    v = json.load(open(path, encoding="utf-8"))
    root_key = bytes.fromhex(v["root_key"])
    bits = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}[v["key_spec"]]
    plaintext = bytes.fromhex(v["plaintext"])
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL " + what)

    for version in v["versions"]:
        name = f"version {version['version']}"
        try:
            pkcs8 = open_private_key(root_key, v["deployment_id"], v["key_id"], version["version"], bytes.fromhex(version["material"]))
        except (InvalidTag, ValueError) as e:
            check(False, f"{name}: the sealed private key does not open ({e!r})")
            continue
        key = serialization.load_der_private_key(pkcs8, password=None)
        check(key.key_size == bits, f"{name}: {key.key_size} bits, not {bits}")
        check(key.private_numbers().public_numbers.e == 65537, f"{name}: public exponent is not 65537")
        spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        check(spki.hex() == version["public_key"], f"{name}: the private key's public key is not the vector's")
        try:
            check(key.decrypt(bytes.fromhex(version["oaep_sha256_ciphertext"]), oaep) == plaintext, f"{name}: OAEP decrypts to other bytes")
        except ValueError:
            check(False, f"{name}: the OAEP ciphertext does not decrypt")
    check(len({x["public_key"] for x in v["versions"]}) == len(v["versions"]), "two versions share a key pair")

    for case in v["invalid"]:
        try:
            open_private_key(root_key, v["deployment_id"], case["key_id"], case["version"], bytes.fromhex(case["material"]))
            check(False, f"invalid case opened: {case['description']}")
        except (InvalidTag, ValueError):
            check(True, case["description"])

    print(f"rsa keys: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
