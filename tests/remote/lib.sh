# Shared helpers for the remote shell tests. Source it first:  . "$(dirname "$0")/lib.sh"
# Every S3 server started through s3_start is stopped by PID in the EXIT trap, also on failure.
set -euo pipefail

: "${DOCFS:?set DOCFS to the docfs binary}"
DOCFS_SOURCE_DIR=${DOCFS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/docfs-remote-test.XXXXXX")
_CHECKS=0
# Keep the tests away from the user's own settings and remotes.
export HOME=$WORK/home XDG_DATA_HOME=$WORK/xdg
mkdir -p "$HOME"
unset DOCFS_REMOTE AWS_PROFILE AWS_DEFAULT_PROFILE AWS_CA_BUNDLE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 \
  AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION || true

. "$DOCFS_SOURCE_DIR/tests/s3server/lib.sh"
_SERVERS=()
_MOUNTS=()  # filesystems a test mounted under $WORK, unmounted by the trap

_cleanup() {
  local rc=$?
  set +e
  local p
  for p in "${_SERVERS[@]}"; do
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  for p in "${_MOUNTS[@]}"; do umount -l "$p"; done
  rm -rf "$WORK"
  if [ $rc -eq 0 ]; then
    echo "PASS: $(basename "$0"): $_CHECKS checks"
  else
    echo "FAIL: $(basename "$0") (exit $rc) after $_CHECKS checks" >&2
  fi
  exit $rc
}
trap _cleanup EXIT

# start_server DATA BUCKET [3|4]: like s3_start, remembered for the trap.
start_server() {
  s3_start "$@"
  _SERVERS+=("$S3_PID")
}

fail() {
  echo "not ok: $*" >&2
  exit 1
}

ok() {
  _CHECKS=$((_CHECKS + 1))
  echo "ok $_CHECKS - $*"
}

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
  local desc=$1
  shift
  if "$@" >"$WORK/out" 2>"$WORK/err"; then ok "$desc"; else
    cat "$WORK/out" "$WORK/err" >&2
    fail "$desc (command: $*)"
  fi
}

# check_fails DESCRIPTION EXIT_CODE PATTERN COMMAND...: the command must exit with EXIT_CODE
# and print PATTERN (grep -E) on stderr.
check_fails() {
  local desc=$1 want=$2 pattern=$3 rc=0
  shift 3
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  if [[ $rc -ne $want ]]; then
    cat "$WORK/out" "$WORK/err" >&2
    fail "$desc: exit $rc, expected $want (command: $*)"
  fi
  if ! grep -Eq -- "$pattern" "$WORK/err"; then
    cat "$WORK/err" >&2
    fail "$desc: stderr does not match /$pattern/"
  fi
  ok "$desc"
}

# make_store DIR COUNT SIZE: a store of COUNT random documents of SIZE bytes (plus a text one).
make_store() {
  local dir=$1 count=$2 size=$3 i src=$WORK/src.$RANDOM
  mkdir -p "$src"
  for ((i = 0; i < count; i++)); do head -c "$size" /dev/urandom >"$src/doc$i.bin"; done
  echo "hello from $dir" >"$src/hello.txt"
  "$DOCFS" init "$dir" >/dev/null
  "$DOCFS" put "$dir" "$src"/* >/dev/null
  rm -rf "$src"
}

# fingerprint STORE: every document's metadata and content, for comparing stores.
fingerprint() { "$DOCFS" export "$1" | sha256sum | cut -d' ' -f1; }

same_store() { [[ $(fingerprint "$1") == $(fingerprint "$2") ]]; }

# patch_file FILE OFFSET BYTE: overwrite one byte (hex, e.g. 02).
patch_file() { printf "\\x$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
