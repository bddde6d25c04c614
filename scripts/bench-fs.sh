#!/usr/bin/env bash
# Benchmarks a docfs mount against libfuse's passthrough_ll example (the FUSE best case,
# over a plain directory) and against the plain directory itself. Prints one table.
#
#   scripts/bench-fs.sh [BUILD_DIR]        (default: build)
#
# Sizes (environment; the defaults are the issue's workloads, a quick run is e.g.
# BENCH_BIG_MB=128 BENCH_SMALL_FILES=1000 BENCH_MANY_FILES=5000):
#   BENCH_BIG_MB       size of the sequential read/write file in MiB   (1024)
#   BENCH_SMALL_FILES  files copied by `cp -r`                          (10000)
#   BENCH_SMALL_KB     size of each of those files in KiB               (4)
#   BENCH_MANY_FILES   files in one directory for ls -l / find / stat / cat / rm -r,
#                      first (cold) and second (warm) pass, all three targets  (18000)
#   BENCH_HUGE_FILES   the same workloads with this many files in one directory and
#                      spread over BENCH_HUGE_DIRS directories (100000, 1000; 0 skips);
#                      passthrough_ll only if its descriptors fit under `ulimit -Hn`
#   BENCH_PT_XATTR     1: passthrough_ll -o xattr, like docfs (default); empty: without
#   BENCH_DIR          where to work (default: a mktemp dir under /var/tmp)
#   BENCH_REMOTE       1 (default): also the .remote/ table against s3fs on a local s3rver
#                      (needs node and tests/s3server installed, and s3fs); 0 skips it
#   BENCH_REMOTE_ONLY  1: only the .remote/ table
#   BENCH_MANY_ONLY    1: only the many-files rows (no big file, no cp -r)
# Needs root and ~10x BENCH_BIG_MB of disk. passthrough_ll holds one fd per file it has
# seen: BENCH_MANY_FILES must stay below the hard `ulimit -n` (raised when allowed).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
DOCFS=${DOCFS:-$BUILD/docfs}
BIG_MB=${BENCH_BIG_MB:-1024}
SMALL_FILES=${BENCH_SMALL_FILES:-10000}
SMALL_KB=${BENCH_SMALL_KB:-4}
MANY_FILES=${BENCH_MANY_FILES:-18000}
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/docfs-bench.XXXXXX")
. "$ROOT/scripts/bench-lib.sh"  # pt_build, pt_mount, pt_umount

# passthrough_ll keeps an fd per inode it knows: the ls/cat workloads need many.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

[ -x "$DOCFS" ] || { echo "no docfs binary at $DOCFS (build first)" >&2; exit 1; }

S3_PID=
S3FS_PID=
cleanup() {
  set +e
  for m in "$W/mnt_docfs" "$W/mnt_pt" "$W/mnt_ra" "$W/mnt_rb" "$W/mnt_s3fs"; do
    grep -q " $m fuse" /proc/mounts && fusermount3 -uz "$m"
  done
  [ -n "$PT_PID" ] && kill "$PT_PID" 2>/dev/null
  [ -n "$S3FS_PID" ] && kill -9 "$S3FS_PID" 2>/dev/null  # before its server goes
  [ -n "$S3_PID" ] && kill "$S3_PID" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }

# --- build passthrough_ll from the packaged example source ---
pt_build

mkdir -p "$W/plain" "$W/pt_src" "$W/mnt_pt" "$W/mnt_docfs"
"$DOCFS" init "$W/store" >/dev/null

mount_docfs() { "$DOCFS" mount "$W/store" "$W/mnt_docfs"; }
umount_docfs() { "$DOCFS" umount "$W/mnt_docfs"; }
mount_pt() { pt_mount "$W/pt_src" "$W/mnt_pt"; }
umount_pt() { pt_umount "$W/mnt_pt"; }
# Remount the FUSE targets: drops their kernel caches (dentries, attributes, pages).
remount() {
  umount_docfs
  mount_docfs
  umount_pt
  mount_pt
}
declare -A RESULT
now() { date +%s.%N; }
# record WORKLOAD TARGET AMOUNT START END: AMOUNT per second
record() {
  RESULT[$1,$2]=$(awk -v a="$3" -v s="$4" -v e="$5" 'BEGIN { d = e - s; if (d <= 0) d = 1e-6; printf "%.1f", a / d }')
  log "$1 on $2: ${RESULT[$1,$2]}"
}
make_small() {  # make_small DIR: SMALL_FILES files of SMALL_KB KiB
  mkdir -p "$1"
  for i in $(seq 1 "$SMALL_FILES"); do echo; done | awk -v dir="$1" -v kb="$SMALL_KB" '
    BEGIN { pad = sprintf("%1024s", ""); gsub(/ /, "x", pad) }
    { f = sprintf("%s/f%06d", dir, NR); for (k = 0; k < kb; k++) printf "%s", pad > f; close(f) }'
}

# --- .remote/ against s3fs-fuse, both on the same local S3 server (s3rver) ---
bench_remote() {
  . "$ROOT/tests/s3server/lib.sh"
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
  unset AWS_CA_BUNDLE AWS_PROFILE
  s3_start "$W/s3" bkt 3 >&2
  local src=$W/src_remote ra=$W/mnt_ra rb=$W/mnt_rb s3m=$W/mnt_s3fs
  local opts="remote_endpoint=$S3_ENDPOINT,push_delay=2,remote_ttl=60"
  make_small "$src/small"
  mkdir -p "$ra" "$rb" "$s3m"
  "$DOCFS" init "$W/store_ra" >/dev/null
  "$DOCFS" init "$W/store_rb" >/dev/null
  "$DOCFS" mount "$W/store_ra" "$ra" --remote s3://bkt/docfs -o "$opts"
  echo "S3RVER:S3RVER" >"$W/s3pass"
  chmod 600 "$W/s3pass"
  # In the foreground (backgrounded here) so cleanup knows its PID: a lazily unmounted s3fs
  # whose server is gone retries forever and keeps a cp stuck in the kernel.
  s3fs bkt "$s3m" -f -o "use_path_request_style,url=$S3_ENDPOINT,passwd_file=$W/s3pass" 2>>"$W/s3fs.log" &
  S3FS_PID=$!
  for _ in $(seq 1 200); do grep -q " $s3m fuse" /proc/mounts && break; sleep 0.05; done
  mkdir "$s3m/s3fs"

  # cp -r into a key, then fsync of the key directory (returns after the push).
  local w_cp="cp -r ${SMALL_FILES} x ${SMALL_KB} KiB + fsync (files/s)"
  mkdir "$ra/.remote/bench"
  local s; s=$(now)
  cp -r "$src/." "$ra/.remote/bench/"
  python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$ra/.remote/bench"
  record "$w_cp" docfs "$SMALL_FILES" "$s" "$(now)"
  log "docfs pushes: $(getfattr --absolute-names --only-values -n user.docfs.pushes "$ra/.remote/bench")"
  s=$(now)
  cp -r "$src/." "$s3m/s3fs/"
  sync -f "$s3m" 2>/dev/null || true
  record "$w_cp" s3fs "$SMALL_FILES" "$s" "$(now)"

  # A second store pulls the key; ls -l + cat there vs the same files in its mount root.
  "$DOCFS" mount "$W/store_rb" "$rb" --remote s3://bkt/docfs -o "$opts"
  s=$(now)
  ls "$rb/.remote/bench" >/dev/null
  record "pull of the key (files/s)" docfs "$SMALL_FILES" "$s" "$(now)"
  cp -r "$src/small" "$rb/small"
  "$DOCFS" umount "$rb"
  "$DOCFS" mount "$W/store_rb" "$rb" --remote s3://bkt/docfs -o "$opts"  # cold kernel caches
  local w_ls="ls -l + cat ${SMALL_FILES} files (files/s)"
  ls "$rb/.remote/bench" >/dev/null  # opens the cache (one revalidation)
  s=$(now)
  ls -l "$rb/.remote/bench/small" >/dev/null
  find "$rb/.remote/bench/small" -type f -print0 | xargs -0 cat >/dev/null
  record "$w_ls" docfs "$SMALL_FILES" "$s" "$(now)"
  s=$(now)
  ls -l "$rb/small" >/dev/null
  find "$rb/small" -type f -print0 | xargs -0 cat >/dev/null
  record "$w_ls" root "$SMALL_FILES" "$s" "$(now)"

  "$DOCFS" umount "$ra"
  "$DOCFS" umount "$rb"
  fusermount3 -u "$s3m"
  s3_stop

  echo
  printf '| %-44s | %10s | %10s | %8s |\n' ".remote/ workload" ".remote/" "other" "ratio"
  printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..12})" \
    "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..10})"
  local a b
  a=${RESULT[$w_cp,docfs]} b=${RESULT[$w_cp,s3fs]}
  printf '| %-44s | %10s | %10s | %8s |\n' "$w_cp vs s3fs" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", a / b }')"
  a=${RESULT[$w_ls,docfs]} b=${RESULT[$w_ls,root]}
  printf '| %-44s | %10s | %10s | %8s |\n' "$w_ls vs mount root" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", a / b }')"
  printf '| %-44s | %10s | %10s | %8s |\n' "pull of the key (files/s)" "${RESULT[pull of the key (files/s),docfs]}" "" ""
}

if [ "${BENCH_REMOTE_ONLY:-0}" = 1 ]; then
  bench_remote
  exit 0
fi

mount_docfs
mount_pt

declare -A DIRS=([docfs]=$W/mnt_docfs [passthrough_ll]=$W/mnt_pt [plain]=$W/plain)
TARGETS=(docfs passthrough_ll plain)
# Evict a file from the page cache: the file itself and what backs it.
evict() {
  dd if="$1" iflag=nocache count=0 status=none 2>/dev/null || true
  dd if="$W/store/body.bin" iflag=nocache count=0 status=none 2>/dev/null || true
  dd if="$W/pt_src/big" iflag=nocache count=0 status=none 2>/dev/null || true
  dd if="$W/plain/big" iflag=nocache count=0 status=none 2>/dev/null || true
}

if [ "${BENCH_MANY_ONLY:-0}" != 1 ]; then
# --- sequential write and read of one big file ---
# Three alternating rounds, the page cache dropped before each run and each target keeping
# its best: on a VM, fresh page-cache memory costs more than memory freed a moment ago, so
# a single run in a fixed order measures the order as much as the filesystem.
w="seq write ${BIG_MB} MiB (MiB/s)"
# Each round writes a new file (nothing is deleted in between, so docfs has no garbage to
# compact while the others run); the last one is read back below.
for round in 1 2 3; do
  for t in "${TARGETS[@]}"; do
    d=${DIRS[$t]}
    sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
    best=${RESULT[$w,$t]:-0}
    s=$(now)
    dd if=/dev/zero of="$d/big$round" bs=1M count="$BIG_MB" conv=fsync status=none
    record "$w" "$t" "$BIG_MB" "$s" "$(now)"
    RESULT[$w,$t]=$(awk -v a="$best" -v b="${RESULT[$w,$t]}" 'BEGIN { print (a > b ? a : b) }')
  done
done
for t in "${TARGETS[@]}"; do
  rm -f "${DIRS[$t]}/big1" "${DIRS[$t]}/big2"
  mv "${DIRS[$t]}/big3" "${DIRS[$t]}/big"
done
remount
for t in "${TARGETS[@]}"; do
  d=${DIRS[$t]}
  evict "$d/big"
  s=$(now)
  dd if="$d/big" of=/dev/null bs=1M status=none
  record "seq read cold (MiB/s)" "$t" "$BIG_MB" "$s" "$(now)"
  s=$(now)
  dd if="$d/big" of=/dev/null bs=1M status=none
  record "seq read warm (MiB/s)" "$t" "$BIG_MB" "$s" "$(now)"
  rm "$d/big"
done

# --- cp -r of many small files ---
make_small "$W/src_small"
for t in "${TARGETS[@]}"; do
  d=${DIRS[$t]}
  s=$(now)
  cp -r "$W/src_small" "$d/small"
  sync -f "$d" 2>/dev/null || true
  record "cp -r ${SMALL_FILES} x ${SMALL_KB} KiB (files/s)" "$t" "$SMALL_FILES" "$s" "$(now)"
  rm -r "$d/small"
done
fi

# --- many files: ls -l, find, stat, cat (a first and a second pass), rm -r ---
# Layouts: BENCH_MANY_FILES in one directory for all three targets; BENCH_HUGE_FILES in one
# directory and spread over BENCH_HUGE_DIRS directories, for passthrough_ll only when its
# one descriptor per file fits under the hard `ulimit -n`. Before the first pass every
# target is remounted and the page cache, dentries and inodes are dropped; the second
# pass follows at once (warm). rm -r runs after the second pass.
make_tree() {  # make_tree DIR FILES DIRS (DIRS=1: flat)
  rm -rf "$1"; mkdir -p "$1"
  awk -v dir="$1" -v n="$2" -v nd="$3" 'BEGIN {
    for (d = 0; d < nd; d++) if (nd > 1) system("mkdir -p " dir "/d" sprintf("%04d", d));
    for (i = 1; i <= n; i++) {
      sub_ = nd > 1 ? sprintf("/d%04d", i % nd) : "";
      f = sprintf("%s%s/m%07d", dir, sub_, i); print "file " i > f; close(f) } }'
}
MANY_ROWS=()
bench_many() {  # bench_many LABEL FILES DIRS TARGETS...
  local label=$1 files=$2 ndirs=$3; shift 3
  local targets=("$@") t d s pass w
  make_tree "$W/src_many" "$files" "$ndirs"
  for t in "${targets[@]}"; do cp -r "$W/src_many" "${DIRS[$t]}/many"; done
  rm -rf "$W/src_many"
  remount
  sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  for pass in first second; do
    for t in "${targets[@]}"; do
      d=${DIRS[$t]}
      w="ls -l $label, $pass"; s=$(now)
      ls -lR "$d/many" >/dev/null
      record "$w" "$t" "$files" "$s" "$(now)"
      w="find -type f | wc -l $label, $pass"; s=$(now)
      n=$(find "$d/many" -type f | wc -l)
      record "$w" "$t" "$files" "$s" "$(now)"
      [ "$n" = "$files" ] || { echo "find saw $n of $files files on $t" >&2; exit 1; }
      w="stat $label, $pass"; s=$(now)
      find "$d/many" -type f -print0 | xargs -0 stat >/dev/null
      record "$w" "$t" "$files" "$s" "$(now)"
      w="cat $label, $pass"; s=$(now)
      find "$d/many" -type f -print0 | xargs -0 cat >/dev/null
      record "$w" "$t" "$files" "$s" "$(now)"
    done
  done
  for pass in first second; do
    for w in "ls -l" "find -type f | wc -l" "stat" "cat"; do MANY_ROWS+=("$w $label, $pass"); done
  done
  for t in "${targets[@]}"; do
    d=${DIRS[$t]}
    w="rm -r $label, after second"; s=$(now)
    rm -r "$d/many"
    record "$w" "$t" "$files" "$s" "$(now)"
  done
  MANY_ROWS+=("rm -r $label, after second")
}
HUGE_FILES=${BENCH_HUGE_FILES:-100000}
HUGE_DIRS=${BENCH_HUGE_DIRS:-1000}
bench_many "${MANY_FILES} files (files/s)" "$MANY_FILES" 1 "${TARGETS[@]}"
if [ "$HUGE_FILES" -gt 0 ]; then
  HUGE_TARGETS=(docfs plain)
  [ "$((HUGE_FILES + 1000))" -lt "$(ulimit -Hn)" ] && HUGE_TARGETS=(docfs passthrough_ll plain)
  bench_many "${HUGE_FILES} in 1 dir (files/s)" "$HUGE_FILES" 1 "${HUGE_TARGETS[@]}"
  bench_many "${HUGE_FILES} in ${HUGE_DIRS} dirs (files/s)" "$HUGE_FILES" "$HUGE_DIRS" "${HUGE_TARGETS[@]}"
fi

# --- the table ---
WORKLOADS=(
  "seq write ${BIG_MB} MiB (MiB/s)"
  "seq read cold (MiB/s)"
  "seq read warm (MiB/s)"
  "cp -r ${SMALL_FILES} x ${SMALL_KB} KiB (files/s)"
  "${MANY_ROWS[@]}"
)
printf '| %-50s | %10s | %14s | %10s | %9s | %11s |\n' workload docfs passthrough_ll plain "docfs/pt" "docfs/plain"
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..52})" "$(printf -- '-%.0s' {1..12})" \
  "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..11})" \
  "$(printf -- '-%.0s' {1..13})"
for w in "${WORKLOADS[@]}"; do
  [ -n "${RESULT[$w,docfs]:-}" ] || continue
  a=${RESULT[$w,docfs]} b=${RESULT[$w,passthrough_ll]:-} c=${RESULT[$w,plain]}
  r1=n/a
  [ -n "$b" ] && r1=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", a / b }')
  r2=$(awk -v a="$a" -v c="$c" 'BEGIN { printf "%.2fx", a / c }')
  printf '| %-50s | %10s | %14s | %10s | %9s | %11s |\n' "$w" "$a" "${b:-n/a}" "$c" "$r1" "$r2"
done

if [ "${BENCH_REMOTE:-1}" = 1 ]; then bench_remote; fi
