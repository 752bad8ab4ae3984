#!/usr/bin/env python3
"""Independent check of Coffre's backup file (docs/format.md §11), written from the documentation alone with Debian's
python3-cryptography and python3-argon2 (the stream decryption of §2 is tools/verify_vectors.py's).

The vector file holds a backup (hex), its passphrase, and the SHA-256 of every archive member. The script parses the
34-byte header, derives the key with Argon2id, decrypts the segmented stream with the header as associated data, reads
the tar archive and compares every member; then checks that a truncated copy, a flipped byte and a wrong passphrase
are refused.

Usage: verify_backup.py testdata/vectors/backup-v1.json     (exit 0 when every check passes)
"""
import hashlib
import io
import json
import os
import struct
import sys
import tarfile

from argon2.low_level import Type, hash_secret_raw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_vectors import Invalid, decrypt  # noqa: E402  (the §2 stream, shared with the object format's check)

HEADER = 34


def decrypt_plain(data, passphrase):
    """The tar archive: Argon2id(passphrase, salt, t, m, p) is the §2 stream's data key, the header its associated data."""
    header = data[:HEADER]
    if len(header) < HEADER or header[:4] != b"CFRB" or header[4] != 1 or header[5] != 1:
        raise Invalid("header")
    memory, passes, lanes = struct.unpack(">III", header[6:18])
    key = hash_secret_raw(passphrase.encode(), header[18:34], time_cost=passes, memory_cost=memory,
                          parallelism=lanes, hash_len=32, type=Type.ID)
    return decrypt(key, header, data[HEADER:])


def open_backup(data, passphrase):
    plain = decrypt_plain(data, passphrase)
    members = {}
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
        for m in tar.getmembers():
            if not m.isfile():
                raise Invalid("member %s is not a file" % m.name)
            members[m.name] = hashlib.sha256(tar.extractfile(m).read()).hexdigest()
    return members


def refused(data, passphrase):
    try:
        open_backup(data, passphrase)
        return False
    except (Invalid, tarfile.TarError):
        return True


def main(path):
    v = json.load(open(path))
    data = bytes.fromhex(v["backup"])
    failures = []
    members = open_backup(data, v["passphrase"])
    if members != v["members"]:
        failures.append("members differ: %s" % members)
    manifest = json.loads(tarfile.open(fileobj=io.BytesIO(
        decrypt_plain(data, v["passphrase"])), mode="r:").extractfile("manifest.json").read())
    if manifest.get("format") != "coffre-backup" or manifest.get("version") != 1:
        failures.append("manifest: %s" % manifest)
    for cut in (HEADER - 1, HEADER + 10, len(data) // 2, len(data) - 1):
        if not refused(data[:cut], v["passphrase"]):
            failures.append("a copy cut at %d bytes was accepted" % cut)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    if not refused(bytes(flipped), v["passphrase"]):
        failures.append("a flipped byte was accepted")
    flipped = bytearray(data)
    flipped[20] ^= 1
    if not refused(bytes(flipped), v["passphrase"]):
        failures.append("a flipped salt byte was accepted")
    if not refused(data, v["passphrase"] + "x"):
        failures.append("a wrong passphrase was accepted")
    for f in failures:
        print("FAIL:", f)
    print("backup vectors: %d members, %s" % (len(members), "FAILED" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
