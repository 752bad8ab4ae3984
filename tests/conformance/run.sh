#!/usr/bin/env bash
# Runs the S3 conformance suite against one endpoint. Usage:
#   tests/conformance/run.sh --endpoint-url URL --access-key KEY --secret-key SECRET [--region R] [--target aws|coffre|moto] [pytest options]
# (or S3_ENDPOINT_URL, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION, S3_TARGET). Needs Debian's python3-boto3 and python3-pytest.
# Exit status: pytest's (0 every test passed or failed only where a known difference is marked for the target).
set -euo pipefail
cd "$(dirname "$0")"
# Debian's Python: it has the Debian boto3 and pytest whatever python3 comes first on PATH.
exec /usr/bin/python3 -m pytest "$@"
