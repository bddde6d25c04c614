#!/usr/bin/env bash
# fsstress (from xfstests) on a docfs mount beside the plain directory (not part of CI):
#
#   scripts/stress.sh [XFSTESTS]          N=10000 P=4 STRESS_SEED=42 scripts/stress.sh
#
# Runs `fsstress -n N -p P -s SEED` on a plain directory, then on a docfs mount of a fresh
# store (same filesystem, same seed), and reports: wall time of each and their ratio; peak
# size of body.bin while fsstress runs (sampled every 0.5 s) against the apparent size of
# the tree at the end (du --apparent-size) and the live bytes of `docfs stat`; then records
# every file through the mount (type, mode, owner, size and a hash of its content), unmounts,
# runs `docfs fsck`, remounts read-only and compares. Targets (issue 19): time <= 3x the
# plain directory, peak body.bin <= 2x live data, 0 differences. Exit status 0 when every
# target is met, 1 otherwise (or on a failure), 2 when fsstress cannot be built.
#
# Environment:
#   N, P            fsstress operations per process (10000) and processes (4)
#   STRESS_SEED     fsstress seed (default: random; printed, so a run can be repeated)
#   FSSTRESS_ARGS   more fsstress arguments for both runs, e.g. "-f link=0 -f symlink=0
#                   -f mknod=0". Even with the same seed the two runs build different trees
#                   (docfs refuses links, device nodes and other user.* xattrs, so fsstress's
#                   random choices drift apart): the table shows both trees' apparent size.
#   FSSTRESS_SRC    xfstests: a source tree (with ltp/fsstress.c) or a git directory (bare
#                   or not); or the first argument. Default: a mirror of kdave/xfstests under
#                   $XFSTESTS_MIRRORS (/work/.mirror), if there is one.
#   FSSTRESS        an fsstress binary to use instead of building one
#   DOCFS           the docfs binary (default build/docfs, built with scripts/build.sh if absent)
#   STRESS_DIR      where the plain directory and the store go (default: mktemp in $TMPDIR)
#   STRESS_TIMEOUT  seconds allowed per fsstress run before it is stopped (3600)
#   STRESS_MOUNT_OPTS  extra -o options for the docfs mount (default: none)
#   STRESS_DROP_CACHES=0  do not drop the page cache before each timed run (default: drop,
#                   as root, so both runs start from the same cache state; see README)
#   KEEP=1          keep the work directory
#
# fsstress is built from ltp/fsstress.c alone, with gcc and a small config.h written here
# (no autotools), in ${XDG_CACHE_HOME:-~/.cache}/docfs/fsstress-<source hash>/; nothing of
# xfstests goes into this repository. Headers needed: xfslibs-dev (xfs/xfs.h), and
# optionally libaio-dev and liburing-dev (AIO and io_uring operations); they are installed
# with apt-get when missing and running as root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-10000}
P=${P:-4}
SEED=${STRESS_SEED:-$(( (RANDOM << 15) | RANDOM ))}
TIMEOUT=${STRESS_TIMEOUT:-3600}
SRC=${1:-${FSSTRESS_SRC:-}}

say() { echo "stress: $*" >&2; }
die() { say "$*"; exit 1; }

# ------------------------------------------------------------------ build fsstress
need_pkgs() {  # need_pkgs PKG...: installs the missing ones (root), or says how
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  if [[ $(id -u) -ne 0 ]]; then
    say "missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
    return 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
}

find_xfstests() {  # prints a source tree or git directory holding ltp/fsstress.c
  local d
  if [[ -n $SRC ]]; then
    [[ -e $SRC ]] || { say "$SRC does not exist"; return 1; }
    echo "$SRC"
    return 0
  fi
  for d in "${XFSTESTS_MIRRORS:-/work/.mirror}"/*xfstests*/ "${XFSTESTS_MIRRORS:-/work/.mirror}"/*xfstests*/*/; do
    [[ -d $d ]] || continue
    if [[ -f $d/ltp/fsstress.c ]] || git --git-dir="$d" cat-file -e HEAD:ltp/fsstress.c 2>/dev/null; then
      echo "${d%/}"
      return 0
    fi
  done
  cat >&2 <<EOF
stress: fsstress comes from xfstests, and no copy of it was found.
  Get xfstests (git://git.kernel.org/pub/scm/fs/xfs/xfstests-dev.git, or its GitHub mirror
  kdave/xfstests), anywhere outside this repository, then run
      FSSTRESS_SRC=/path/to/xfstests scripts/stress.sh      (a source tree or a git dir)
  or point FSSTRESS at an fsstress binary you built.
EOF
  return 1
}

# cat_src DIR PATH: a file of the xfstests source (work tree, or HEAD of a git directory).
cat_src() {
  if [[ -f $1/$2 ]]; then cat "$1/$2"
  elif [[ -d $1/.git ]]; then git --git-dir="$1/.git" show "HEAD:$2"
  else git --git-dir="$1" show "HEAD:$2"
  fi
}

build_fsstress() {  # prints the path of an fsstress binary
  if [[ -n ${FSSTRESS:-} ]]; then echo "$FSSTRESS"; return 0; fi
  local src tmp hash cache out defs=() libs=()
  src=$(find_xfstests) || return 2
  need_pkgs gcc libc6-dev xfslibs-dev || return 2
  need_pkgs libaio-dev liburing-dev || say "building without AIO/io_uring operations"
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/fsstress-src.XXXXXX")
  cat_src "$src" ltp/fsstress.c >"$tmp/fsstress.c" && cat_src "$src" src/global.h >"$tmp/global.h" ||
    { rm -rf "$tmp"; say "cannot read ltp/fsstress.c and src/global.h from $src"; return 2; }
  hash=$(cat "$tmp/fsstress.c" "$tmp/global.h" | sha256sum | cut -c1-12)
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/docfs/fsstress-$hash
  out=$cache/fsstress
  if [[ -x $out ]]; then rm -rf "$tmp"; echo "$out"; return 0; fi
  # What xfstests' configure would find on Debian 12 (include/config.h).
  cat >"$tmp/config.h" <<'EOF'
#define HAVE_XFS_XFS_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_STATVFS_H 1
#define HAVE_SYS_TIME_H 1
#define HAVE_SYS_IOCTL_H 1
#define HAVE_SYS_WAIT_H 1
#define HAVE_MALLOC_H 1
#define HAVE_DIRENT_H 1
#define HAVE_STDLIB_H 1
#define HAVE_UNISTD_H 1
#define HAVE_ERRNO_H 1
#define HAVE_STRING_H 1
#define HAVE_STRINGS_H 1
#define HAVE_SYS_FCNTL_H 1
#define HAVE_SYS_PARAM_H 1
#define HAVE_LIBGEN_H 1
#define HAVE_ASSERT_H 1
#define STDC_HEADERS 1
#define HAVE_LINUX_FALLOC_H 1
#define HAVE_LINUX_FIEMAP_H 1
#define HAVE_SYS_PRCTL_H 1
#define HAVE_SYS_MMAN_H 1
#define HAVE_RENAMEAT2 1
EOF
  # ltp/Makefile's flags: -DXFS, plus AIO/URING/FALLOCATE/HAVE_COPY_FILE_RANGE as found.
  defs=(-DXFS -DFALLOCATE -DHAVE_COPY_FILE_RANGE)
  if echo '#include <libaio.h>' | gcc -E -x c - >/dev/null 2>&1; then defs+=(-DAIO); libs+=(-laio); fi
  if echo '#include <liburing.h>' | gcc -E -x c - >/dev/null 2>&1; then defs+=(-DURING); libs+=(-luring); fi
  say "building fsstress from $src (${defs[*]}) into $cache"
  mkdir -p "$cache"
  if ! gcc -std=gnu11 -O2 -funsigned-char -fno-strict-aliasing -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
      "${defs[@]}" -I"$tmp" "$tmp/fsstress.c" -o "$out.tmp" "${libs[@]}" -lm 2>"$cache/build.log"; then
    cat "$cache/build.log" >&2
    rm -rf "$tmp"
    say "building fsstress failed (log above)"
    return 2
  fi
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
  echo "$out"
}

rc=0
FSS=$(build_fsstress) || rc=$?
((rc == 0)) || exit "$rc"

# ------------------------------------------------------------------ docfs
if [[ -z ${DOCFS:-} ]]; then
  DOCFS=$root/build/docfs
  if [[ ! -x $DOCFS ]]; then
    say "no $DOCFS: building it (scripts/build.sh)"
    "$root/scripts/build.sh"
  fi
fi
[[ -x $DOCFS ]] || die "no docfs binary at $DOCFS"

WORK=$(mktemp -d "${STRESS_DIR:-${TMPDIR:-/tmp}}/docfs-stress.XXXXXX")
# A private copy: the build directory may be rebuilt while this runs.
cp "$DOCFS" "$WORK/docfs"
DOCFS_ORIG=$DOCFS DOCFS=$WORK/docfs
export XDG_DATA_HOME=$WORK/xdg
unset DOCFS_REMOTE
STORE=$WORK/store MNT=$WORK/mnt PLAIN=$WORK/plain
mkdir -p "$MNT" "$PLAIN"
DAEMON_PID= FSS_PID= SAMPLER_PID=

cleanup() {
  local st=$? p i
  set +e
  for p in $SAMPLER_PID $FSS_PID; do kill "$p" 2>/dev/null; done
  if grep -q " $MNT fuse" /proc/mounts; then
    timeout 60 "$DOCFS" umount "$MNT" >/dev/null 2>&1 || fusermount3 -uz "$MNT"
  fi
  if [[ -n $DAEMON_PID ]]; then
    kill "$DAEMON_PID" 2>/dev/null
    for i in $(seq 1 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID" 2>/dev/null
  fi
  if [[ ${KEEP:-0} == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit $st
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }
human() { numfmt --to=iec-i --suffix=B --format=%.1f "$1"; }
drop_caches() {
  sync
  if [[ ${STRESS_DROP_CACHES:-1} == 1 && -w /proc/sys/vm/drop_caches ]]; then
    echo 3 >/proc/sys/vm/drop_caches
  fi
}

mount_docfs() {  # mount_docfs [OPTIONS]: foreground daemon in the background; waits for it
  local opts=${1:-} i
  "$DOCFS" mount -f "$STORE" "$MNT" ${opts:+-o "$opts"} 2>>"$WORK/daemon.log" &
  DAEMON_PID=$!
  for i in $(seq 1 200); do
    grep -q " $MNT fuse" /proc/mounts && return 0
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.05
  done
  tail -20 "$WORK/daemon.log" >&2
  die "mount of $STORE failed"
}

umount_docfs() {  # returns 1 if the unmount did not finish within 10 minutes
  local i
  timeout 600 "$DOCFS" umount "$MNT" >/dev/null || return 1
  for i in $(seq 1 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$DAEMON_PID" 2>/dev/null && return 1
  wait "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=
}

# run_fsstress DIR NAME: times fsstress in DIR; sets run_ms to the milliseconds, or "timeout".
run_fsstress() {
  local dir=$1 name=$2 t0 t1 i
  t0=$(now_ms)
  # shellcheck disable=SC2086
  "$FSS" -n "$N" -p "$P" -s "$SEED" ${FSSTRESS_ARGS:-} -d "$dir" >"$WORK/fsstress-$name.log" 2>&1 &
  FSS_PID=$!
  while kill -0 "$FSS_PID" 2>/dev/null; do
    if (($(now_ms) - t0 > TIMEOUT * 1000)); then
      say "fsstress on $name still running after ${TIMEOUT} s: stopping it"
      kill $(pgrep -P "$FSS_PID") "$FSS_PID" 2>/dev/null
      for i in $(seq 1 100); do kill -0 "$FSS_PID" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$FSS_PID" 2>/dev/null && [[ $name == docfs ]]; then
        say "fsstress does not stop (a request hangs in the daemon): killing the daemon"
        kill -9 "$DAEMON_PID" 2>/dev/null
      fi
      wait "$FSS_PID" 2>/dev/null || true
      FSS_PID=
      run_ms=timeout
      return 0
    fi
    sleep 0.1
  done
  wait "$FSS_PID" || say "fsstress on $name exited with status $? (see its log)"
  FSS_PID=
  t1=$(now_ms)
  run_ms=$((t1 - t0))
}

# A manifest of a tree: one line per entry, "type path mode uid:gid [size hash]". The hash
# covers the size and every non-zero 1 MiB-aligned chunk (with its index), found through
# SEEK_DATA/SEEK_HOLE, so a 1 TB sparse file costs what it holds and a hole equals zeros.
cat >"$WORK/manifest.py" <<'PY'
import errno, hashlib, os, stat, sys
root = sys.argv[1]
CHUNK = 1 << 20
ZERO = bytes(CHUNK)

def data_segments(fd, size):
    off = 0
    while off < size:
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError as e:
            if e.errno == errno.ENXIO:
                return
            if e.errno == errno.EINVAL and off == 0:  # no SEEK_DATA: all of it is data
                yield 0, size
                return
            raise
        h = os.lseek(fd, d, os.SEEK_HOLE)
        yield d, min(h, size)
        off = h

def content_hash(path, size):
    h = hashlib.sha256(str(size).encode())
    fd = os.open(path, os.O_RDONLY)
    try:
        last = -1
        for d, e in data_segments(fd, size):
            for idx in range(max(d // CHUNK, last + 1), (e - 1) // CHUNK + 1):
                n = min(CHUNK, size - idx * CHUNK)
                buf = os.pread(fd, n, idx * CHUNK)
                if len(buf) != n:
                    return "short-read"
                if buf != ZERO[:n]:
                    h.update(idx.to_bytes(8, "little"))
                    h.update(buf)
                last = idx
    finally:
        os.close(fd)
    return h.hexdigest()[:32]

out = []
for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    for name in sorted(dirnames) + sorted(filenames):
        p = os.path.join(dirpath, name)
        rel = os.path.relpath(p, root)
        try:
            st = os.lstat(p)
        except OSError as e:
            out.append(f"? {rel} {e.strerror}")
            continue
        base = f"{stat.S_IMODE(st.st_mode):o} {st.st_uid}:{st.st_gid}"
        if stat.S_ISDIR(st.st_mode):
            out.append(f"d {rel} {base}")
        elif stat.S_ISREG(st.st_mode):
            try:
                hsh = content_hash(p, st.st_size)
            except OSError as e:
                hsh = "error:" + e.strerror
            out.append(f"f {rel} {base} {st.st_size} {hsh}")
        else:
            out.append(f"o {rel} {base} {stat.S_IFMT(st.st_mode):o}")
print("\n".join(out))
PY

# ------------------------------------------------------------------ runs
say "fsstress $FSS: -n $N -p $P -s $SEED ${FSSTRESS_ARGS:-}; work directory $WORK ($(df --output=fstype "$WORK" | tail -1))"
drop_caches
say "plain directory ..."
run_fsstress "$PLAIN/fss" plain
plain_ms=$run_ms
plain_apparent=$(du -s --apparent-size -B1 "$PLAIN" | cut -f1)
plain_used=$(du -s -B1 "$PLAIN" | cut -f1)
rm -rf "$PLAIN"

"$DOCFS" init "$STORE" >/dev/null
mount_docfs "${STRESS_MOUNT_OPTS:-}"
drop_caches
# body.bin every 0.5 s: apparent size and allocated bytes.
(
  while :; do
    echo "$(stat -c '%s %b' "$STORE/body.bin" 2>/dev/null || echo '0 0')"
    sleep 0.5
  done
) >"$WORK/samples" &
SAMPLER_PID=$!
say "docfs mount ..."
run_fsstress "$MNT/fss" docfs
docfs_ms=$run_ms
kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=
peak_body=$(awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { printf "%.0f\n", m }' "$WORK/samples")
peak_alloc=$(awk 'BEGIN { m = 0 } $2 * 512 > m { m = $2 * 512 } END { printf "%.0f\n", m }' "$WORK/samples")

alive=1
kill -0 "$DAEMON_PID" 2>/dev/null && grep -q " $MNT fuse" /proc/mounts || alive=0
apparent=NA live=NA garbage=NA end_body=NA umount_state=failed fsck_state=failed diffs=NA files=NA
if ((alive)); then
  apparent=$(du -s --apparent-size -B1 "$MNT" | cut -f1)
  "$DOCFS" stat "$STORE" --json >"$WORK/stat.json"
  live=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['live_bytes'])" "$WORK/stat.json")
  garbage=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['garbage_bytes'])" "$WORK/stat.json")
  say "recording every file through the mount ..."
  t0=$(now_ms)
  python3 "$WORK/manifest.py" "$MNT" >"$WORK/before.txt"
  manifest_ms=$(($(now_ms) - t0))
  files=$(grep -c '^f ' "$WORK/before.txt" || true)
  t0=$(now_ms)
  if umount_docfs; then umount_state="ok ($(secs $(($(now_ms) - t0))) s)"; else umount_state="FAILED"; fi
else
  say "the mount is dead; no manifest"
  fusermount3 -uz "$MNT" 2>/dev/null || true
  DAEMON_PID=
fi
end_body=$(stat -c %s "$STORE/body.bin")
if [[ $umount_state == ok* ]]; then
  if "$DOCFS" fsck "$STORE" >"$WORK/fsck.log" 2>&1; then fsck_state=clean; else fsck_state=FAILED; cat "$WORK/fsck.log" >&2; fi
  mount_docfs ro
  python3 "$WORK/manifest.py" "$MNT" >"$WORK/after.txt"
  umount_docfs || say "read-only unmount failed"
  diff "$WORK/before.txt" "$WORK/after.txt" >"$WORK/diff.txt" || true
  diffs=$(grep -c '^[<>]' "$WORK/diff.txt" || true)
  if ((diffs)); then
    say "differences after remount (first 20 lines; < before, > after):"
    head -20 "$WORK/diff.txt" >&2
    cp "$WORK/diff.txt" "${TMPDIR:-/tmp}/docfs-stress-diff.$SEED.txt"
    say "all of them: ${TMPDIR:-/tmp}/docfs-stress-diff.$SEED.txt"
  fi
fi

# ------------------------------------------------------------------ report
misses=()
ratio=NA factor=NA factor_app=NA
if [[ $plain_ms != timeout && $docfs_ms != timeout ]]; then
  ratio=$(awk -v a="$docfs_ms" -v b="$plain_ms" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }')
  awk -v r="$ratio" 'BEGIN { exit !(r > 3) }' && misses+=("time ratio $ratio > 3")
else
  # Stopped at the timeout: at least this much.
  [[ $plain_ms != timeout ]] && ratio=">$(awk -v a="$TIMEOUT" -v b="$plain_ms" 'BEGIN { printf "%.0f", a * 1000 / (b > 0 ? b : 1) }')"
  misses+=("fsstress timed out (plain: $plain_ms ms, docfs: $docfs_ms)")
fi
if [[ $live != NA ]]; then
  factor=$(awk -v a="$peak_body" -v b="$live" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }')
  factor_app=$(awk -v a="$peak_body" -v b="$apparent" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }')
  awk -v f="$factor" 'BEGIN { exit !(f > 2) }' && misses+=("peak body.bin $factor x live data > 2")
fi
[[ $umount_state == ok* ]] || misses+=("unmount failed")
[[ $fsck_state == clean ]] || misses+=("fsck not clean")
[[ $diffs == 0 ]] || misses+=("$diffs differing manifest lines after remount")
fmt_ms() { [[ $1 == timeout ]] && echo "timeout (> ${TIMEOUT} s)" || echo "$(secs "$1") s"; }
fmt_b() { [[ $1 == NA ]] && echo NA || echo "$(human "$1") ($1)"; }

cat <<EOF

fsstress -n $N -p $P -s $SEED ${FSSTRESS_ARGS:-} (docfs: $DOCFS_ORIG of $(date -u -r "$DOCFS_ORIG" '+%Y-%m-%d %H:%M'), run $(date -u '+%Y-%m-%d %H:%M') UTC)
| what | value | target |
|---|---|---|
| fsstress on the plain directory ($(df --output=fstype "$WORK" | tail -1)) | $(fmt_ms "$plain_ms") | |
| fsstress on the docfs mount | $(fmt_ms "$docfs_ms") | |
| time ratio docfs / plain | ${ratio}x | <= 3x |
| peak body.bin during the run (apparent) | $(fmt_b "$peak_body") | |
| peak body.bin allocated on disk | $(fmt_b "$peak_alloc") | |
| body.bin at the end | $(fmt_b "$end_body") | |
| apparent data of the tree at the end (du --apparent-size) | $(fmt_b "$apparent") | |
| same on the plain directory (allocated: $(human "$plain_used")) | $(fmt_b "$plain_apparent") | |
| live bytes / garbage bytes (docfs stat) | $(fmt_b "$live") / $(fmt_b "$garbage") | |
| peak body.bin / live bytes | ${factor}x | <= 2x |
| peak body.bin / apparent data | ${factor_app}x | |
| unmount | $umount_state | |
| fsck | $fsck_state | clean |
| files recorded before unmount (${manifest_ms:-NA} ms) / differences after a read-only remount | $files / $diffs | 0 |
EOF
if ((${#misses[@]})); then
  echo "MISSED: $(IFS=';'; echo "${misses[*]}")"
  exit 1
fi
echo "all targets met"
