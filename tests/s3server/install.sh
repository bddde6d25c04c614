#!/usr/bin/env bash
# Installs the local S3 test servers pinned in package-lock.json (s3rver 3.7.1 and
# @20minutes/s3rver 4.0.4 as "s3rver4"). Idempotent and quiet; needs node and npm.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.docfs-installed
if [[ -f $stamp && $stamp -nt package-lock.json && -d node_modules/s3rver && -d node_modules/s3rver4 ]]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "tests/s3server/install.sh: npm is missing (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error </dev/null >/dev/null
touch "$stamp"
