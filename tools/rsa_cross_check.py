#!/usr/bin/env python3
"""Independent check of Coffre's RSA keys with python3-cryptography (docs/kms-api.md, docs/hyok.md).

  rsa_cross_check.py encrypt-jwk N_B64 E PLAINTEXT_B64      RSA-OAEP-256 to a DKE JWK (n base64, e integer): prints the ciphertext
  rsa_cross_check.py encrypt-spki SPKI_B64 ALG PLAINTEXT_B64 RSAES_OAEP_SHA_1|_256 to a KMS public key: prints the ciphertext
  rsa_cross_check.py verify SPKI_B64 ALG TYPE MESSAGE_B64 SIGNATURE_B64
                                                            checks a KMS signature (RSASSA_PSS_*/RSASSA_PKCS1_V1_5_*, RAW|DIGEST):
                                                            exit 0 when valid, 1 when not
"""
import base64
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def oaep(hash_cls):
    return padding.OAEP(mgf=padding.MGF1(algorithm=hash_cls()), algorithm=hash_cls(), label=None)


def main(argv):
    op = argv[1]
    if op == "encrypt-jwk":
        n = int.from_bytes(base64.b64decode(argv[2]), "big")
        key = rsa.RSAPublicNumbers(int(argv[3]), n).public_key()
        print(base64.b64encode(key.encrypt(base64.b64decode(argv[4]), oaep(hashes.SHA256))).decode())
        return 0
    key = serialization.load_der_public_key(base64.b64decode(argv[2]))
    alg = argv[3]
    if op == "encrypt-spki":
        hash_cls = {"RSAES_OAEP_SHA_1": hashes.SHA1, "RSAES_OAEP_SHA_256": hashes.SHA256}[alg]
        print(base64.b64encode(key.encrypt(base64.b64decode(argv[4]), oaep(hash_cls))).decode())
        return 0
    if op == "verify":
        hash_cls = HASHES[alg[-3:]]
        pad = (padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=hash_cls.digest_size)
               if alg.startswith("RSASSA_PSS_") else padding.PKCS1v15())
        message = base64.b64decode(argv[5])
        algorithm = utils.Prehashed(hash_cls()) if argv[4] == "DIGEST" else hash_cls()
        try:
            key.verify(base64.b64decode(argv[6]), message, pad, algorithm)
        except InvalidSignature:
            print("invalid signature")
            return 1
        print("valid")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
