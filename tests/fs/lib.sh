# Shared helpers for the fs shell tests. Source it first:  . "$(dirname "$0")/lib.sh"
# Every mount made through mount_store is unmounted in the EXIT trap, also on failure.
set -euo pipefail

: "${DOCFS:?set DOCFS to the docfs binary}"
DOCFS_BUILD_DIR=${DOCFS_BUILD_DIR:-$(dirname "$DOCFS")}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/docfs-fs-test.XXXXXX")
STORE=$WORK/store
MNT=$WORK/mnt
mkdir -p "$MNT"
_MOUNTS=()
_PIDS=()
_CHECKS=0

_cleanup() {
  local rc=$?
  set +e
  local m p
  for m in "${_MOUNTS[@]}"; do
    if mountpoint -q "$m" 2>/dev/null || grep -q " $m fuse" /proc/mounts; then
      fusermount3 -uz "$m" 2>/dev/null
    fi
  done
  for p in "${_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  # Give daemons a moment to release their stores before the directory goes away.
  for p in "${_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$WORK"
  if [ $rc -eq 0 ]; then
    echo "PASS: $(basename "$0"): $_CHECKS checks"
  else
    echo "FAIL: $(basename "$0") (exit $rc) after $_CHECKS checks" >&2
  fi
  exit $rc
}
trap _cleanup EXIT

fail() {
  echo "not ok: $*" >&2
  exit 1
}

# check DESCRIPTION COMMAND...: runs the command, fails the test if it fails.
check() {
  local desc=$1
  shift
  if "$@" >/dev/null; then
    _CHECKS=$((_CHECKS + 1))
    echo "ok $_CHECKS - $desc"
  else
    fail "$desc (command: $*)"
  fi
}

# check_fails DESCRIPTION ERRNO_TEXT COMMAND...: the command must fail, and its stderr
# must mention ERRNO_TEXT (e.g. "File name too long").
check_fails() {
  local desc=$1 text=$2
  shift 2
  local err
  if err=$("$@" 2>&1); then
    fail "$desc: succeeded but should have failed"
  fi
  if [ -n "$text" ] && ! grep -q -- "$text" <<<"$err"; then
    fail "$desc: expected '$text' in: $err"
  fi
  _CHECKS=$((_CHECKS + 1))
  echo "ok $_CHECKS - $desc"
}

new_store() {  # new_store DIR
  "$DOCFS" init "$1" >/dev/null
}

# mount_store STORE MOUNTPOINT [ARGS...]: daemonized mount, returns once ready.
mount_store() {
  local store=$1 mnt=$2
  shift 2
  mkdir -p "$mnt"
  _MOUNTS+=("$mnt")
  "$DOCFS" mount "$store" "$mnt" "$@"
}

# mount_fg STORE MOUNTPOINT [ARGS...]: foreground daemon in the background of this
# shell (so the test knows its pid: $DAEMON_PID); waits until the mount is live.
mount_fg() {
  local store=$1 mnt=$2
  shift 2
  mkdir -p "$mnt"
  _MOUNTS+=("$mnt")
  "$DOCFS" mount -f "$store" "$mnt" "$@" 2>>"$WORK/daemon.log" &
  DAEMON_PID=$!
  _PIDS+=("$DAEMON_PID")
  local i
  for i in $(seq 1 200); do
    if grep -q " $mnt fuse" /proc/mounts; then return 0; fi
    kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$WORK/daemon.log" >&2; fail "daemon died"; }
    sleep 0.05
  done
  fail "mount of $store on $mnt did not appear"
}

umount_store() {  # umount_store MOUNTPOINT: unmounts and waits for the store lock
  "$DOCFS" umount "$1"
}

is_mounted() { grep -q " $1 fuse" /proc/mounts; }

# random_file PATH BYTES
random_file() {
  head -c "$2" /dev/urandom >"$1"
}
