#!/usr/bin/python3
"""boto3 client for the deployment tests (Debian's python3-boto3), credentials from AWS_* variables.

  s3_client.py put ENDPOINT BUCKET PREFIX COUNT   uploads COUNT objects, prints each key once acknowledged
  s3_client.py verify ENDPOINT BUCKET             reads keys from stdin, prints each one that is missing or different

An object's body is derived from its key, so verify needs nothing but the key. Retries as real clients do
(standard mode, 10 attempts): a request that reached a killed instance is retried through the load balancer.
"""
import hashlib
import sys

import boto3
from botocore.config import Config


def body(key):
    seed = hashlib.sha256(key.encode()).digest()
    size = 1024 + int.from_bytes(seed[:4], "big") % 60000
    return (seed * (size // len(seed) + 1))[:size]


def client(service, endpoint):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        config=Config(retries={"max_attempts": 10, "mode": "standard"}, s3={"addressing_style": "path"}))


def main():
    mode, endpoint = sys.argv[1], sys.argv[2]
    if mode == "put":
        bucket, prefix, count = sys.argv[3], sys.argv[4], int(sys.argv[5])
        s3 = client("s3", endpoint)
        for i in range(count):
            key = f"{prefix}{i:05d}"
            s3.put_object(Bucket=bucket, Key=key, Body=body(key))
            print(key, flush=True)
    elif mode == "verify":
        s3 = client("s3", endpoint)
        bad = 0
        for key in (line.strip() for line in sys.stdin if line.strip()):
            try:
                got = s3.get_object(Bucket=sys.argv[3], Key=key)["Body"].read()
            except s3.exceptions.NoSuchKey:
                got = None
            if got != body(key):
                bad += 1
                print(key, "missing" if got is None else "different", flush=True)
        sys.exit(1 if bad else 0)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
