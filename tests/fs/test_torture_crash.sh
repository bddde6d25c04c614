#!/usr/bin/env bash
# CI-sized crash-consistency torture: 20 trials of scripts/torture-crash.sh (writers on a
# real mount, SIGKILL of the daemon at a random moment — also during online prune and
# during `docfs pull` — then remount, compare every acknowledged document, fsck).
# The script unmounts (fusermount3 -uz) and kills only the PIDs it started, in its trap.
set -euo pipefail
: "${DOCFS:?set DOCFS to the docfs binary}"
src=${DOCFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export DOCFS
exec bash "$src/scripts/torture-crash.sh" "${TORTURE_TRIALS:-20}"
