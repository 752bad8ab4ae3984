#!/usr/bin/env python3
"""Independent decoder of Coffre's erasure-coded shares (docs/format.md, "Erasure-coded shares").

Written from the specification with Debian's python3-zfec (Tahoe-LAFS's codec) and zlib only.
  verify_erasure.py VECTORS.json                 checks every vector: zfec's shares equal the vector's, and the
                                                 blob rebuilds from every k-subset of them
  verify_erasure.py --rebuild OUT SHARE...       rebuilds a blob from k or more share blobs (files) into OUT,
                                                 leaving out shares with a damaged header or block
Exit 0 when everything checks, 1 otherwise (the reason on stderr).
"""
import itertools
import json
import struct
import sys
import zlib

import zfec

HEADER, TRAILER, CRC = 24, 12, 4
UNKNOWN = (1 << 64) - 1


class Invalid(Exception):
    pass


def crc(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def parse(share):
    """Header and geometry of one share blob; raises Invalid when damaged."""
    h = share[:HEADER]
    if len(h) < HEADER or h[:4] != b"CFEC" or h[4] != 1:
        raise Invalid("not a version-1 share header")
    if struct.unpack(">I", h[20:24])[0] != crc(h[:20]):
        raise Invalid("header checksum mismatch")
    k, n, index = h[5], h[6], h[7]
    block, total = struct.unpack(">IQ", h[8:20])
    t = share[-TRAILER:]
    if struct.unpack(">I", t[8:12])[0] != crc(t[:8]):
        raise Invalid("trailer checksum mismatch")
    trailer_total = struct.unpack(">Q", t[:8])[0]
    if total != UNKNOWN and total != trailer_total:
        raise Invalid("header and trailer disagree on the length")
    return k, n, index, block, trailer_total


def stripes(k, block, total):
    """(offset in share, block length) of every stripe."""
    out, done, s = [], 0, 0
    while done < total:
        rest = total - done
        length = block if rest >= k * block else (rest + k - 1) // k
        out.append((HEADER + s * (block + CRC), length))
        done += min(rest, k * block)
        s += 1
    return out


def rebuild(shares):
    """The blob the shares encode, from any k intact ones (damaged blocks leave their share out)."""
    parsed = []
    for s in shares:
        try:
            parsed.append((parse(s), s))
        except Invalid as e:
            print("left out a share: %s" % e, file=sys.stderr)
    if not parsed:
        raise Invalid("no intact share")
    (k, n, _, block, total) = parsed[0][0]
    parsed = [p for p in parsed if (p[0][0], p[0][1], p[0][3], p[0][4]) == (k, n, block, total)]
    out = bytearray()
    for off, length in stripes(k, block, total):
        blocks, nums = [], []
        for (meta, s) in parsed:
            rec = s[off:off + length + CRC]
            if len(rec) == length + CRC and struct.unpack(">I", rec[length:])[0] == crc(rec[:length]) and meta[2] not in nums:
                blocks.append(rec[:length])
                nums.append(meta[2])
        if len(blocks) < k:
            raise Invalid("stripe at %d: only %d intact share(s), %d needed" % (off, len(blocks), k))
        data = zfec.Decoder(k, n).decode(blocks[:k], nums[:k])
        out += b"".join(data)[:min(k * block, total - len(out))]
    return bytes(out)


def check_vectors(path):
    doc = json.load(open(path))
    for v in doc["vectors"]:
        blob = bytes.fromhex(v["blob"])
        shares = [bytes.fromhex(s) for s in v["shares"]]
        k, n = v["k"], v["n"]
        for i, s in enumerate(shares):
            if parse(s) != (k, n, i, v["block_length"], len(blob)):
                raise Invalid("%s: header of share %d" % (v["name"], i))
        # zfec encodes every stripe to the very shares Coffre wrote.
        for off, length in stripes(k, v["block_length"], len(blob)):
            start = (off - HEADER) // (v["block_length"] + CRC) * k * v["block_length"]
            data = blob[start:start + k * length].ljust(k * length, b"\0")
            coded = zfec.Encoder(k, n).encode([data[j * length:(j + 1) * length] for j in range(k)])
            for i, c in enumerate(coded):
                if shares[i][off:off + length] != c:
                    raise Invalid("%s: share %d at %d differs from zfec's" % (v["name"], i, off))
        for subset in itertools.combinations(range(n), k):
            if rebuild([shares[i] for i in subset]) != blob:
                raise Invalid("%s: shares %s do not rebuild the blob" % (v["name"], subset))
        print("ok %s (%d-of-%d, %d bytes)" % (v["name"], k, n, len(blob)))


def main(argv):
    try:
        if len(argv) >= 3 and argv[0] == "--rebuild":
            blob = rebuild([open(p, "rb").read() for p in argv[2:]])
            open(argv[1], "wb").write(blob)
            print("rebuilt %d bytes" % len(blob))
        elif len(argv) == 1:
            check_vectors(argv[0])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Invalid as e:
        print("INVALID: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
