#!/usr/bin/env bash
# The test command of the README: installs what the tests need (real S3 servers and clients,
# Debian's python3-cryptography), then runs every test suite and the independent verifiers.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -eq 0 ]]; then bash .ci/install-test-deps.sh; else sudo bash .ci/install-test-deps.sh; fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# The independent verifier: Debian's Python and cryptography, reading only the spec's vectors.
/usr/bin/python3 tools/verify_vectors.py testdata/vectors/format-v1.json | tee -a "$log"
# The provider catalog: its schema and the checks a schema cannot express (docs/providers.md), then the
# checker's own tests, which break a copy of the catalog in each way the checker must catch.
/usr/bin/python3 tools/check_provider_catalog.py | tee -a "$log"
/usr/bin/python3 tools/test_check_provider_catalog.py | tee -a "$log"
/usr/bin/python3 tools/verify_xks_vectors.py testdata/vectors/xks-v1.json | tee -a "$log"
/usr/bin/python3 tools/verify_root_seals.py testdata/vectors/root-seals-v2.json | tee -a "$log"
/usr/bin/python3 tools/verify_erasure.py testdata/vectors/erasure-v1.json | tee -a "$log"
/usr/bin/python3 tools/verify_backup.py testdata/vectors/backup-v1.json | tee -a "$log"
/usr/bin/python3 tools/verify_sse_vectors.py testdata/vectors/sse-v1.json | tee -a "$log"
/usr/bin/python3 tools/verify_rsa_keys.py testdata/vectors/rsa-keys-v1.json | tee -a "$log"
/usr/bin/python3 tools/verify_manifest_vectors.py testdata/vectors/manifest-v1.json | tee -a "$log"
/usr/bin/python3 tools/verify_sigv2_vectors.py testdata/vectors/sigv2-v1.json | tee -a "$log"

status=0
dotnet test Coffre.sln -c Release --logger "console;verbosity=minimal" "$@" 2>&1 | tee -a "$log" || status=$?

# Every fuzz target for a short bounded time (FUZZ_SECONDS each, two at a time; docs/fuzzing.md): fails on any
# crash or hang. Its own summary line is "fuzz: N targets, C crashes, H hangs, F failed to run".
scripts/fuzz.sh all "${FUZZ_SECONDS:-30}" 2>&1 | tee -a "$log" || status=$?

# One closing line over every suite: "Total: N passed, M failed".
awk '
  /^[0-9]+ passed, [0-9]+ failed/ { p += $1; f += $3 }
  /(Passed|Failed)!/ { for (i = 1; i <= NF; i++) { if ($i == "Passed:") p += $(i+1); if ($i == "Failed:") f += $(i+1) } }
  END { printf "Total: %d passed, %d failed\n", p, f }' "$log"
exit $status
