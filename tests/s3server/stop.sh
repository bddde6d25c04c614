#!/usr/bin/env bash
# stop.sh PID: stops a server that start.sh started.
set -euo pipefail
kill "$1" 2>/dev/null || true
for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || exit 0; sleep 0.1; done
kill -9 "$1" 2>/dev/null || true
