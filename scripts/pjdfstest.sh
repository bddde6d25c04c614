#!/usr/bin/env bash
# POSIX conformance (not in CI):  scripts/pjdfstest.sh TARBALL [DIR/NN.t ...]
# TARBALL is a pjdfstest snapshot (e.g. ../shared/peers/pjdfstest.tar.gz); it is not in
# Debian, so this script does not fetch it. Builds it in a temporary directory (needs
# autoconf and automake: installed when missing and running as root), mounts a fresh store
# with -o default_permissions,allow_other, runs the given test files (default: the
# parent-time checks mkdir/00.t open/00.t rmdir/00.t unlink/00.t rename/00.t) from inside
# the mount, and prints the failed subtests of each file. Exits 1 if any subtest failed.
# Unmounts in a trap and kills only the PIDs it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DOCFS=${DOCFS:-$root/build/docfs}
tarball=${1:?usage: scripts/pjdfstest.sh PJDFSTEST.tar.gz [DIR/NN.t ...]}
shift
[[ -f $tarball ]] || { echo "pjdfstest.sh: no such tarball: $tarball" >&2; exit 2; }
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
tests=("$@")
((${#tests[@]})) || tests=(mkdir/00.t open/00.t rmdir/00.t unlink/00.t rename/00.t)

need=()
for t in autoreconf:autoconf aclocal:automake prove:perl; do
  command -v "${t%%:*}" >/dev/null || need+=("${t##*:}")
done
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then echo "pjdfstest.sh: apt-get install ${need[*]}" >&2; exit 2; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" \
    </dev/null >/dev/null
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/docfs-pjdfstest.XXXXXX")
MNT=$WORK/mnt DAEMON_PID=
cleanup() {
  local rc=$?
  set +e
  if grep -q " $MNT fuse" /proc/mounts; then
    "$DOCFS" umount "$MNT" >/dev/null 2>&1 || fusermount3 -uz "$MNT"
  fi
  [[ -n $DAEMON_PID ]] && { kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; }
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tar xzf "$tarball" -C "$WORK"
src=$(find "$WORK" -maxdepth 2 -name pjdfstest.c -printf '%h\n' | head -1)
[[ -n $src ]] || { echo "pjdfstest.sh: no pjdfstest.c in $tarball" >&2; exit 2; }
(cd "$src" && autoreconf -ifs && ./configure && make pjdfstest) >"$WORK/build.log" 2>&1 ||
  { tail -20 "$WORK/build.log" >&2; exit 1; }

export XDG_DATA_HOME=$WORK/xdg
unset DOCFS_REMOTE
"$DOCFS" init "$WORK/store" >/dev/null
mkdir -p "$MNT"
"$DOCFS" mount -f "$WORK/store" "$MNT" -o default_permissions,allow_other 2>"$WORK/daemon.log" &
DAEMON_PID=$!
for _ in $(seq 200); do grep -q " $MNT fuse" /proc/mounts && break; sleep 0.05; done
grep -q " $MNT fuse" /proc/mounts || { cat "$WORK/daemon.log" >&2; exit 1; }

total_failed=0
for t in "${tests[@]}"; do
  out=$(cd "$MNT" && prove -v "$src/tests/$t" 2>&1) || true
  failed=$(grep -c '^not ok' <<<"$out" || true)
  planned=$(grep -m1 -oE '^1\.\.[0-9]+' <<<"$out" | cut -d. -f3)
  echo "$t: $failed of ${planned:-?} subtests failed"
  grep '^not ok' <<<"$out" | sed 's/^/  /' || true
  total_failed=$((total_failed + failed))
done
echo "total failed subtests: $total_failed"
((total_failed == 0))
