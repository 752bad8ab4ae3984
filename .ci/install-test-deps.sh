#!/usr/bin/env bash
# Installs the third-party programs Coffre's test suites drive, on a fresh Debian 12 machine, as root.
# Idempotent: anything already present is left alone. Usage: .ci/install-test-deps.sh [--dry-run]
#
#   moto_server  (moto 5.x, Python)  in-memory S3 server          tests/Coffre.TestSupport MotoServer
#   s3rver       (3.x, npm)          file-system S3 server          tests/Coffre.TestSupport S3rverServer
#   aws, s3cmd, rclone               real S3 clients (interop tests of the gateway)
#   python3-cryptography             used by Python-side test helpers
#   python3-boto3                    a real S3 client (versioning interop)   tests/clients/boto3_versioning.py
#   python3-jsonschema               validates catalog/providers.json   tools/check_provider_catalog.py
#   afl-fuzz     (afl++, Debian)     drives the fuzz targets of scripts/fuzz.sh
#   nginx        (nginx-light)       load balancer in front of several instances (deploy/nginx)   tests/Coffre.TestSupport NginxServer
#   postgresql   (15, Debian)        initdb/pg_ctl for the PostgreSQL tests   tests/Coffre.TestSupport PostgresServer
set -euo pipefail

DRY_RUN=0
[[ "${1:-}" == "--dry-run" ]] && DRY_RUN=1
export DEBIAN_FRONTEND=noninteractive

log() { echo "[install-test-deps] $*"; }
run() { log "+ $*"; if ((DRY_RUN == 0)); then "$@"; fi; }
have() { command -v "$1" >/dev/null 2>&1; }
deb_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

if ((DRY_RUN == 0)) && [[ $(id -u) -ne 0 ]]; then
    echo "run as root (apt-get and global npm installs)" >&2
    exit 1
fi

# ---- Debian packages ------------------------------------------------------------------------
apt_wanted=()
deb_installed python3-cryptography || apt_wanted+=(python3-cryptography)
deb_installed python3-boto3 || apt_wanted+=(python3-boto3)   # boto3 clients: tests/clients/boto3_versioning.py, SseBoto3Tests, Deployment.Tests/s3_client.py
deb_installed python3-pytest || apt_wanted+=(python3-pytest)   # runs the S3 conformance suite: tests/conformance/run.sh
deb_installed python3-jsonschema || apt_wanted+=(python3-jsonschema)
deb_installed python3-argon2 || apt_wanted+=(python3-argon2)
deb_installed python3-zfec || apt_wanted+=(python3-zfec)             # zfec (Tahoe-LAFS): independent decoder of erasure-coded shares   tools/verify_erasure.py
deb_installed softhsm2 || apt_wanted+=(softhsm2)               # PKCS#11 HSM root tests: /usr/lib/softhsm/libsofthsm2.so, softhsm2-util   # tools/verify_root_seals.py, tools/verify_kms.py: Argon2id seals
deb_installed ca-certificates || apt_wanted+=(ca-certificates)
deb_installed awscli || apt_wanted+=(awscli)   # Debian 12: AWS CLI v2.9 at /usr/bin/aws (a pip v1 may come first on PATH)
have s3cmd || apt_wanted+=(s3cmd)
have rclone || apt_wanted+=(rclone)
have curl || apt_wanted+=(curl)           # curl --aws-sigv4 drives the XKS face tests
have afl-fuzz || apt_wanted+=(afl++)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || apt_wanted+=(postgresql)
[[ -x /usr/sbin/nginx ]] || apt_wanted+=(nginx-light)
have chromium || apt_wanted+=(chromium)   # the sovereignty report's HTML rendered headless (ReportSovereigntyTests)
have node || apt_wanted+=(nodejs)         # Debian 12: node 18, enough for s3rver 3.x
have npm || apt_wanted+=(npm)             # (a NodeSource nodejs already ships npm)
if ! have moto_server && ! have pip && ! have pip3 && ! python3 -m pip --version >/dev/null 2>&1; then
    apt_wanted+=(python3-pip)
fi
if ((${#apt_wanted[@]})); then
    run apt-get update
    run apt-get install -y --no-install-recommends "${apt_wanted[@]}"
else
    log "Debian packages: nothing to install"
fi

# ---- moto (Python) --------------------------------------------------------------------------
if have moto_server; then
    log "moto_server: already at $(command -v moto_server)"
else
    if have pip; then pip_cmd=(pip)
    elif have pip3; then pip_cmd=(pip3)
    else pip_cmd=(python3 -m pip)
    fi
    # A pyenv/venv pip installs normally; Debian's own python refuses (PEP 668) unless told otherwise.
    if ! run "${pip_cmd[@]}" install 'moto[server]>=5,<6'; then
        run "${pip_cmd[@]}" install --break-system-packages 'moto[server]>=5,<6'
    fi
    if have pyenv; then run pyenv rehash; fi
    hash -r
fi

# ---- s3rver (npm) ---------------------------------------------------------------------------
if have s3rver; then
    log "s3rver: already at $(command -v s3rver)"
else
    run npm install -g 's3rver@^3.7.1'
    hash -r
fi

# ---- check ----------------------------------------------------------------------------------
if ((DRY_RUN == 0)); then
    moto_server --help >/dev/null || { echo "moto_server is not runnable" >&2; exit 1; }
    log "s3rver $(s3rver --version)"
    log "moto_server at $(command -v moto_server)"
fi
log "done"
