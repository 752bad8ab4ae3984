#!/usr/bin/env python3
"""Checks testdata/vectors/manifest-v1.json (docs/format.md §12) without Coffre: the manifest opens under its key
encryption key with python3-cryptography, to the JSON the vector gives, and every altered copy is refused.
It opens them with tools/coffre_exit.py's own reader, so the exit script is checked against the format too."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffre_exit import open_manifest  # noqa: E402
from verify_vectors import Invalid  # noqa: E402


class OneBlob:
    def __init__(self, key, blob):
        self.key, self.blob = key, blob

    def read(self, key):
        if key != self.key:
            raise Invalid("no blob %s" % key)
        return self.blob


def main(path):
    v = json.load(open(path))
    keks = {(v["key_id"], v["key_version"]): bytes.fromhex(v["kek"])}
    m = open_manifest(OneBlob(v["blob_key"], bytes.fromhex(v["manifest"])), keks, v["blob_key"])
    assert m == json.loads(v["plaintext"])["Manifest"], "the manifest opened to other JSON than the vector's plaintext"
    for bad in v["invalid"]:
        try:
            open_manifest(OneBlob(bad["blob_key"], bytes.fromhex(bad["manifest"])), keks, bad["blob_key"])
        except Invalid:
            continue
        sys.exit("accepted an invalid manifest: %s" % bad["why"])
    print("manifest vectors: 1 manifest opened (%s/%s), %d altered copies refused" % (m["Bucket"], m["Name"], len(v["invalid"])))


if __name__ == "__main__":
    main(sys.argv[1])
