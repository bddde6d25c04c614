#!/usr/bin/env bash
# Changing big files (issue 16): a docfs mount against libfuse's passthrough_ll (over a
# plain directory) and against the plain directory itself, in the same run. Prints one
# markdown table, then the fsx verdicts.
#
#   scripts/bench-writes.sh [BUILD_DIR]        (default: build)
#
# Workloads (sizes from the environment; defaults are the issue's, a quick run is e.g.
# BENCH_BIG_MB=64 BENCH_APPENDS=100 BENCH_OVERWRITES=1000 BENCH_SQL_INSERTS=300
# BENCH_SQL_UPDATES=100 BENCH_FSX_OPS=2000):
#   BENCH_BIG_MB        size of the big file in MiB                                  (1024)
#   BENCH_APPENDS       `printf %100s >> big` (open, write, close each time)         (1000)
#   BENCH_APPEND_BYTES  bytes per append                                             (100)
#   BENCH_OVERWRITES    random 4 KiB overwrites of big (fio, psync), fsync every
#                       BENCH_FSYNC_EVERY writes                                     (10000, 100)
#   BENCH_SQL_INSERTS   sqlite3: single-row INSERT transactions into a new database  (10000)
#   BENCH_SQL_UPDATES   then single-row UPDATE transactions; PRAGMA integrity_check  (1000)
#   BENCH_FSX_OPS       fsx -N OPS -c 4, then fsx -N OPS (xfstests' ltp/fsx.c)       (100000)
#   BENCH_FSX_TARGETS   where fsx runs                    ("docfs passthrough_ll plain")
#   BENCH_DIR           where to work (default: a mktemp dir under /var/tmp)
#   BENCH_PT_XATTR      1: passthrough_ll -o xattr, like docfs (default); empty: without
#   BENCH_DOCFS_OPTS    docfs mount options (default compact_min=1024g: no online
#                       compaction inside a workload, so body.bin deltas are its own)
# For docfs the table also gives the bytes each workload appended to STORE/body.bin (and
# header.bin for the appends): `stat -c %s` before and after. Between workloads (untimed)
# `docfs prune` compacts the store, as online compaction would have.
# fsx is built as scripts/bench-lib.sh says (FSX_SRC, FSX); without it the fsx rows are
# skipped. Needs root, sqlite3 and fio (scripts/install-deps.sh), ~4x BENCH_BIG_MB of disk.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
DOCFS=${DOCFS:-$BUILD/docfs}
BIG_MB=${BENCH_BIG_MB:-1024}
APPENDS=${BENCH_APPENDS:-1000}
APPEND_BYTES=${BENCH_APPEND_BYTES:-100}
OVERWRITES=${BENCH_OVERWRITES:-10000}
FSYNC_EVERY=${BENCH_FSYNC_EVERY:-100}
SQL_INSERTS=${BENCH_SQL_INSERTS:-10000}
SQL_UPDATES=${BENCH_SQL_UPDATES:-1000}
FSX_OPS=${BENCH_FSX_OPS:-100000}
FSX_TARGETS=${BENCH_FSX_TARGETS-docfs passthrough_ll plain}
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/docfs-bench-writes.XXXXXX")
. "$ROOT/scripts/bench-lib.sh"  # pt_build, pt_mount, pt_umount, fsx_build

[ -x "$DOCFS" ] || { echo "no docfs binary at $DOCFS (build first)" >&2; exit 1; }
for tool in sqlite3 fio; do
  command -v "$tool" >/dev/null || { echo "no $tool (run scripts/install-deps.sh)" >&2; exit 1; }
done
cp "$DOCFS" "$W/docfs"  # a rebuild during the run must not swap the binary
DOCFS=$W/docfs
STORE=$W/store
DOCFS_PID=
FSX_PID=

cleanup() {
  set +e
  [ -n "$FSX_PID" ] && kill "$FSX_PID" 2>/dev/null
  for m in "$W/mnt_docfs" "$W/mnt_pt"; do
    grep -q " $m fuse" /proc/mounts && fusermount3 -uz "$m"
  done
  [ -n "$PT_PID" ] && kill "$PT_PID" 2>/dev/null
  [ -n "$DOCFS_PID" ] && kill "$DOCFS_PID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }
now() { date +%s.%N; }
body_size() { stat -c %s "$STORE/body.bin"; }
# Untimed, between workloads: compacts docfs's garbage (online compaction is off).
prune() { sync; "$DOCFS" prune "$STORE" >/dev/null; log "pruned: body.bin $(body_size) bytes"; }
header_size() { stat -c %s "$STORE/header.bin"; }

pt_build
FSX_BIN=
if [ -n "$FSX_TARGETS" ]; then FSX_BIN=$(fsx_build) || { log "no fsx: skipping the fsx rows"; FSX_BIN=; }; fi

mkdir -p "$W/plain" "$W/pt_src" "$W/mnt_pt" "$W/mnt_docfs"
"$DOCFS" init "$STORE" >/dev/null
"$DOCFS" mount -f "$STORE" "$W/mnt_docfs" -o "${BENCH_DOCFS_OPTS-compact_min=1024g}" 2>>"$W/daemon.log" &
DOCFS_PID=$!
for _ in $(seq 1 200); do grep -q " $W/mnt_docfs fuse" /proc/mounts && break; sleep 0.05; done
grep -q " $W/mnt_docfs fuse" /proc/mounts || { cat "$W/daemon.log" >&2; echo "docfs did not mount" >&2; exit 1; }
pt_mount "$W/pt_src" "$W/mnt_pt"

declare -A DIRS=([docfs]=$W/mnt_docfs [passthrough_ll]=$W/mnt_pt [plain]=$W/plain)
TARGETS=(docfs passthrough_ll plain)
declare -A RESULT
WORKLOADS=()
# record WORKLOAD TARGET VALUE
record() {
  local w
  for w in "${WORKLOADS[@]-}"; do [[ $w == "$1" ]] && break; done
  [[ ${w-} == "$1" ]] || WORKLOADS+=("$1")
  RESULT[$1,$2]=$3
  log "$1 on $2: $3"
}
rate() { awk -v a="$1" -v s="$2" -v e="$3" 'BEGIN { d = e - s; if (d <= 0) d = 1e-6; printf "%.1f", a / d }'; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.2f", e - s }'; }

# --- the big file ---
for t in "${TARGETS[@]}"; do
  dd if=/dev/zero of="${DIRS[$t]}/big" bs=1M count="$BIG_MB" conv=fsync status=none
done
sync

# --- appends: open, write, close, APPENDS times ---
w_app="\`>>\` ${APPEND_BYTES} B x ${APPENDS} to ${BIG_MB} MiB (appends/s)"
w_app_s="  appends: seconds"
w_app_b="  appends: bytes appended to body.bin"
w_app_h="  appends: bytes appended to header.bin"
for t in "${TARGETS[@]}"; do
  f=${DIRS[$t]}/big
  sync
  b0=$(body_size) h0=$(header_size)
  s=$(now)
  for ((i = 0; i < APPENDS; i++)); do printf "%${APPEND_BYTES}s" >>"$f"; done
  e=$(now)
  record "$w_app" "$t" "$(rate "$APPENDS" "$s" "$e")"
  record "$w_app_s" "$t" "$(secs "$s" "$e")"
  if [[ $t == docfs ]]; then
    record "$w_app_b" "$t" $(($(body_size) - b0))
    record "$w_app_h" "$t" $(($(header_size) - h0))
  fi
  want=$((BIG_MB * 1048576 + APPENDS * APPEND_BYTES))
  got=$(stat -c %s "$f")
  [[ $got == "$want" ]] || { echo "appends on $t: size $got, want $want" >&2; exit 1; }
done

prune

# --- random 4 KiB overwrites with fsync every FSYNC_EVERY writes (fio) ---
w_fio="${OVERWRITES} x 4 KiB random overwrites, fsync/${FSYNC_EVERY} (ops/s)"
w_fio_b="  overwrites: bytes appended to body.bin"
for t in "${TARGETS[@]}"; do
  sync
  b0=$(body_size)
  fio --name=ow --filename="${DIRS[$t]}/big" --rw=randwrite --bs=4k --number_ios="$OVERWRITES" \
    --fsync="$FSYNC_EVERY" --size="${BIG_MB}m" --ioengine=psync --fallocate=none \
    --randrepeat=1 --output-format=json --output="$W/fio-$t.json" >/dev/null
  ios=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["jobs"][0]["write"]; print(j["total_ios"], "%.1f" % j["iops"])' "$W/fio-$t.json")
  [[ ${ios%% *} == "$OVERWRITES" ]] || { echo "fio on $t: ${ios%% *} writes, want $OVERWRITES" >&2; exit 1; }
  record "$w_fio" "$t" "${ios#* }"
  [[ $t == docfs ]] && record "$w_fio_b" "$t" $(($(body_size) - b0))
done

prune

# --- sqlite3: single-row transactions ---
seq 1 "$SQL_INSERTS" | awk '{ printf "INSERT INTO t(k, v) VALUES (%d, hex(randomblob(64)));\n", $1 }' >"$W/insert.sql"
awk -v n="$SQL_UPDATES" -v m="$SQL_INSERTS" 'BEGIN { srand(16); for (i = 0; i < n; i++)
  printf "UPDATE t SET v = hex(randomblob(64)) WHERE k = %d;\n", 1 + int(rand() * m) }' >"$W/update.sql"
w_ins="sqlite3 ${SQL_INSERTS} INSERT transactions (txn/s)"
w_upd="sqlite3 ${SQL_UPDATES} UPDATE transactions (txn/s)"
w_sql_b="  sqlite3: bytes appended to body.bin"
SQL_CHECK=
for t in "${TARGETS[@]}"; do
  db=${DIRS[$t]}/bench.db
  sync
  b0=$(body_size)
  sqlite3 "$db" 'CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);'
  s=$(now); sqlite3 "$db" <"$W/insert.sql"; e=$(now)
  record "$w_ins" "$t" "$(rate "$SQL_INSERTS" "$s" "$e")"
  s=$(now); sqlite3 "$db" <"$W/update.sql"; e=$(now)
  record "$w_upd" "$t" "$(rate "$SQL_UPDATES" "$s" "$e")"
  [[ $t == docfs ]] && record "$w_sql_b" "$t" $(($(body_size) - b0))
  chk=$(sqlite3 "$db" 'PRAGMA integrity_check; SELECT count(*) FROM t;' | tr '\n' ' ')
  SQL_CHECK+="$t: integrity_check/rows = ${chk% }; "
  [[ $chk == "ok $SQL_INSERTS " ]] || { echo "sqlite on $t: $chk" >&2; exit 1; }
done

prune

# --- fsx ---
FSX_VERDICT=
if [ -n "$FSX_BIN" ]; then
  for mode in "-c 4" ""; do
    w_fsx="fsx -N ${FSX_OPS}${mode:+ $mode} (ops/s)"
    for t in $FSX_TARGETS; do
      d=${DIRS[$t]}/fsx$RANDOM
      mkdir "$d"
      s=$(now)
      # shellcheck disable=SC2086
      (cd "$d" && exec "$FSX_BIN" -N "$FSX_OPS" $mode "$d/f") >"$W/fsx.log" 2>&1 &
      FSX_PID=$!
      rc=0; wait "$FSX_PID" || rc=$?
      FSX_PID=
      e=$(now)
      if [[ $rc == 0 ]] && grep -q "operations completed A-OK" "$W/fsx.log"; then
        record "$w_fsx" "$t" "$(rate "$FSX_OPS" "$s" "$e")"
        FSX_VERDICT+="fsx -N $FSX_OPS${mode:+ $mode} on $t: $(tail -1 "$W/fsx.log") ($(secs "$s" "$e") s)"$'\n'
      else
        record "$w_fsx" "$t" "FAIL"
        FSX_VERDICT+="fsx -N $FSX_OPS${mode:+ $mode} on $t: FAILED (exit $rc): $(tail -3 "$W/fsx.log" | tr '\n' ' ')"$'\n'
        cp "$W/fsx.log" "${TMPDIR:-/tmp}/docfs-bench-fsx-$t.log"
      fi
      rm -rf "$d"
    done
  done
fi

"$DOCFS" umount "$W/mnt_docfs" >/dev/null
wait "$DOCFS_PID" 2>/dev/null || true
DOCFS_PID=
fsck=$("$DOCFS" fsck "$STORE" 2>&1 | tail -1)
pt_umount "$W/mnt_pt"

# --- the table ---
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b }'; }
printf '| %-52s | %12s | %14s | %12s | %9s | %11s |\n' workload docfs passthrough_ll plain "docfs/pt" "docfs/plain"
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..54})" "$(printf -- '-%.0s' {1..14})" \
  "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..11})" \
  "$(printf -- '-%.0s' {1..13})"
for w in "${WORKLOADS[@]}"; do
  a=${RESULT[$w,docfs]-} b=${RESULT[$w,passthrough_ll]-} c=${RESULT[$w,plain]-}
  r1= r2=
  if [[ $w != "  "* ]]; then r1=$(ratio "$a" "$b"); r2=$(ratio "$a" "$c"); fi
  printf '| %-52s | %12s | %14s | %12s | %9s | %11s |\n' "$w" "$a" "$b" "$c" "$r1" "$r2"
done
echo
echo "sqlite: ${SQL_CHECK% }"
[ -n "$FSX_VERDICT" ] && printf '%s' "$FSX_VERDICT"
echo "docfs fsck after unmount: $fsck"
