#!/usr/bin/env bash
# The test command of the README: installs what the tests need (real S3 servers and clients,
# Debian's python3-cryptography), then runs every test suite and the independent format verifier.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-test-deps.sh

# The independent verifier: Debian's Python and cryptography, reading only the spec's vectors.
/usr/bin/python3 tools/verify_vectors.py testdata/vectors/format-v1.json

dotnet test Coffre.sln -c Release --logger "console;verbosity=minimal" "$@"
