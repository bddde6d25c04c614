# Holes (issue 19): truncate to 1 PB is O(1); beyond the maximum file size (2^62 bytes)
# EFBIG at once; a write past EOF or truncate -s 32G leaves a hole, and commit + compaction
# of such a file return within seconds with body.bin small; a 1 TB sparse file with a few
# written blocks matches the same file on the plain disk (size, blocks, SEEK_DATA/SEEK_HOLE
# map), takes little space, punches holes (fallocate -p) and stays sparse through push/pull;
# while a 1 GiB file commits, mkdir/stat elsewhere on the mount keep answering (the worst
# latency is printed; the test fails only beyond 2 s).
#
# A hung request cannot be interrupted from the caller's side (the caller sleeps
# uninterruptibly in the kernel until the daemon answers), so `timeout` would hang too:
# every request that may hang runs under `within`, which kills the daemon (aborting the
# connection and releasing the caller) when the time is up, and the test fails at once.
#
# SPARSE_PARTS="pb 32g tb remote latency" (default: all) runs a subset, for development.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote_lib.sh"  # HOME/XDG_DATA_HOME under $WORK, no AWS settings

command -v xfs_io >/dev/null || fail "xfs_io is missing (xfsprogs; scripts/install-deps.sh installs it)"

PARTS=" ${SPARSE_PARTS:-pb 32g tb remote latency} "
part() { [[ $PARTS == *" $1 "* ]]; }

PROBER=
_sparse_exit() {
  local rc=$? m p i
  set +e
  [ -n "$PROBER" ] && kill "$PROBER" 2>/dev/null
  for m in "${_MOUNTS[@]}"; do
    grep -q " $m fuse" /proc/mounts && fusermount3 -uz "$m" 2>/dev/null
  done
  # A daemon stuck in size-proportional work may ignore SIGTERM for hours: SIGKILL it after
  # 5 s, so that lib.sh's cleanup (which waits for the daemons) cannot hang.
  for p in "${_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${_PIDS[@]}"; do
    for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  (exit $rc)
  _cleanup
}
trap _sparse_exit EXIT

kill_daemons() {
  local p
  for p in "${_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# within SECS COMMAND...: runs COMMAND; if it is still running after SECS seconds, kills the
# daemons (which releases COMMAND with ENOTCONN) and returns 124.
within() {
  local secs=$1 pid deadline
  shift
  "$@" &
  pid=$!
  deadline=$(($(now_ms) + secs * 1000))
  while kill -0 "$pid" 2>/dev/null; do
    if (($(now_ms) > deadline)); then
      echo "within: '$*' still running after ${secs} s: a request hangs; killing the daemon" >&2
      kill_daemons
      wait "$pid" 2>/dev/null || true
      return 124
    fi
    sleep 0.02
  done
  wait "$pid"
}

# timed MS_VAR SECS COMMAND...: like within, and stores the elapsed milliseconds in MS_VAR.
timed() {
  local -n _ms=$1
  local secs=$2 t0 rc=0
  shift 2
  t0=$(now_ms)
  within "$secs" "$@" || rc=$?
  _ms=$(($(now_ms) - t0))
  return $rc
}

# wait_exit PID SECS: waits until PID (a child of this shell) has exited, then reaps it.
wait_exit() {
  local pid=$1 i
  for ((i = 0; i < $2 * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Mounts in the foreground (the test knows the daemon's pid, to kill it when a request hangs).
mount_m() { mount_fg "$@"; }
# umount_m MOUNTPOINT: unmounts (committing), waits for the daemon to exit.
umount_m() {
  local pid=$DAEMON_PID
  within 60 umount_store "$1" || return 1
  wait_exit "$pid" 10 || { echo "daemon $pid still running 10 s after its unmount" >&2; return 1; }
  ! is_mounted "$1"
}

size_of() { stat -c %s "$1"; }
kib_used() { du -k "$1" | cut -f1; }            # allocated KiB (st_blocks)
body_kib() { du -k "$STORE/body.bin" | cut -f1; }
body_size() { stat -c %s "$STORE/body.bin"; }
# block FILE OFFSET [LEN]: LEN (4096) bytes of FILE at byte OFFSET, on stdout.
block() { dd if="$1" bs="${3:-4096}" count=1 skip="$2" iflag=skip_bytes,fullblock status=none; }
# put_block SRC FILE OFFSET: writes SRC (4 KiB) into FILE at byte OFFSET, keeping the rest.
put_block() { dd if="$1" of="$2" bs=4096 seek="$3" oflag=seek_bytes conv=notrunc status=none; }
# data_map FILE: the SEEK_DATA/SEEK_HOLE map of FILE (one "DATA off"/"HOLE off" per line).
data_map() { xfs_io -r -c "seek -a -r 0" "$1" | tail -n +2; }
is_zeros() { cmp -s <(block "$1" "$2" "${3:-4096}") <(head -c "${3:-4096}" /dev/zero); }

for i in 1 2 3 4 5 6; do random_file "$WORK/blk$i" 4096; done
mkdir -p "$WORK/plain"
new_store "$STORE"
mount_m "$STORE" "$MNT"

# ---------------------------------------------------------------- 1 PB and the size limit
if part pb; then
  PB=999999999999999
  MAX=$((1 << 62))
  timed ms 5 truncate -s $PB "$MNT/f" || fail "truncate -s $PB (1 PB) failed or hung (${ms} ms)"
  echo "# truncate -s 1 PB: ${ms} ms"
  check "truncate to 1 PB returned within 1 s (${ms} ms)" test "$ms" -le 1000
  check "stat shows 1 PB" test "$(size_of "$MNT/f")" = $PB
  check "a 1 PB hole takes no space (st_blocks = 0)" test "$(stat -c %b "$MNT/f")" = 0
  check "reading inside the 1 PB hole gives zeros" within 5 is_zeros "$MNT/f" $((PB / 2))
  check "reading at the last byte gives a zero" within 5 is_zeros "$MNT/f" $((PB - 1)) 1
  check_fails "truncate to 2^62+1 bytes fails with EFBIG" "File too large" \
    within 5 truncate -s $((MAX + 1)) "$MNT/f"
  check "a refused truncate leaves the size alone" test "$(size_of "$MNT/f")" = $PB
  check_fails "a write ending past 2^62 fails with EFBIG" "File too large" within 5 \
    python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_WRONLY); os.pwrite(fd, b'x', $MAX); os.close(fd)" "$MNT/f"
  check "truncate to exactly 2^62 bytes (the maximum) works" within 5 truncate -s $MAX "$MNT/max"
  check "stat shows 2^62" test "$(size_of "$MNT/max")" = $MAX
  check "a 1-byte write at the last offset below 2^62 works" within 5 \
    python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_WRONLY); os.pwrite(fd, b'x', $MAX - 1); os.close(fd)" "$MNT/max"
  check "body.bin stays small (du < 64 MiB)" test "$(body_kib)" -lt 65536
  check "unmount with a 1 PB file" umount_m "$MNT"
  check "body.bin after unmount is small (< 64 MiB)" test "$(body_size)" -lt $((64 << 20))
  mount_m "$STORE" "$MNT"
  check "1 PB size survives a remount" test "$(size_of "$MNT/f")" = $PB
  check "2^62 size survives a remount" test "$(size_of "$MNT/max")" = $MAX
  check "the byte below 2^62 survives" test "$(within 5 block "$MNT/max" $((MAX - 1)) 1)" = x
  check "rm the 1 PB file" within 5 rm "$MNT/f" "$MNT/max"
fi

# ---------------------------------------------------------------- 32 GiB, write at 2 GiB + 1
if part 32g; then
  OFF=$((2 ** 31 + 1))
  check "truncate -s 32G" within 5 truncate -s 32G "$MNT/g"
  timed ms 30 put_block "$WORK/blk1" "$MNT/g" $OFF || fail "write of 4 KiB at 2 GiB + 1 into a 32 GiB file failed or hung (${ms} ms)"
  echo "# 4 KiB write at 2 GiB + 1 into a 32 GiB file, open to close: ${ms} ms"
  check "write + close at 2 GiB + 1 returned within 5 s (${ms} ms)" test "$ms" -le 5000
  check "size still 32 GiB" test "$(size_of "$MNT/g")" = $((32 << 30))
  check "the 32 GiB file uses < 1 MiB (du -k: $(kib_used "$MNT/g"))" test "$(kib_used "$MNT/g")" -lt 1024
  check "body.bin uses < 64 MiB (du -k: $(body_kib))" test "$(body_kib)" -lt 65536
  check "body.bin is < 64 MiB long ($(body_size))" test "$(body_size)" -lt $((64 << 20))
  check "the 4 KiB read back" within 10 cmp <(block "$MNT/g" $OFF) "$WORK/blk1"
  check "the hole before it reads zeros" within 10 is_zeros "$MNT/g" $((1 << 30))
  # pjdfstest open/25.t: a write at 2 GiB + 1 on an empty file (no truncate).
  timed ms 30 put_block "$WORK/blk2" "$MNT/h" $OFF || fail "write at 2 GiB + 1 on a new file failed or hung (${ms} ms)"
  check "a write past EOF of a new file returned within 5 s (${ms} ms)" test "$ms" -le 5000
  check "size is offset + 4 KiB" test "$(size_of "$MNT/h")" = $((OFF + 4096))
  check "a write past EOF leaves a hole (du < 1 MiB)" test "$(kib_used "$MNT/h")" -lt 1024
  check "its 4 KiB read back" within 10 cmp <(block "$MNT/h" $OFF) "$WORK/blk2"

  # Compaction: make some garbage, ask for a prune; it must finish and not loop.
  random_file "$WORK/junk" $((1 << 20))
  for i in 1 2 3; do within 10 cp "$WORK/junk" "$MNT/junk" || fail "writing 1 MiB hung"; done
  within 5 rm "$MNT/junk" || fail "rm hung"
  check "docfs prune on the mounted store returns" within 10 "$DOCFS" prune "$STORE"
  ok=0
  for i in $(seq 1 50); do
    sleep 0.1
    # Still answering, and body.bin small, through the compaction.
    within 5 mkdir "$MNT/after-prune-$i" || fail "mkdir hung during compaction"
    [ "$(body_kib)" -lt 65536 ] && [ "$(body_size)" -lt $((64 << 20)) ] || ok=1
  done
  check "body.bin stayed < 64 MiB for 5 s after the prune ($(body_size) bytes now)" test $ok = 0
  n=$(grep -c "compacted" "$WORK/daemon.log" || true)
  echo "# compactions logged so far: $n"
  check "compaction does not loop (at most 3 compactions logged: $n)" test "$n" -le 3
  check "the 4 KiB still reads back after compaction" within 10 cmp <(block "$MNT/g" $OFF) "$WORK/blk1"
  check "unmount after the prune" umount_m "$MNT"
  check "body.bin small after unmount ($(body_size) bytes)" test "$(body_size)" -lt $((64 << 20))
  mount_m "$STORE" "$MNT"
  check "32 GiB size survives a remount" test "$(size_of "$MNT/g")" = $((32 << 30))
  check "the 4 KiB at 2 GiB + 1 survives a remount" within 10 cmp <(block "$MNT/g" $OFF) "$WORK/blk1"
  check "the other write past EOF survives a remount" within 10 cmp <(block "$MNT/h" $OFF) "$WORK/blk2"
  check "and still uses < 1 MiB" test "$(kib_used "$MNT/g")" -lt 1024
fi

# ---------------------------------------------------------------- 1 TB against the plain disk
TB=$((1 << 40))
# Offsets are 4 KiB-aligned and far apart, so every filesystem reports the same data map.
OFFS=(0 $((64 << 20)) $((3 << 30)) $((123456789 * 4096)) $((1 << 39)) $((TB - 4096)))
build_tb() {  # build_tb FILE
  truncate -s $TB "$1" || return 1
  local i
  for i in "${!OFFS[@]}"; do put_block "$WORK/blk$((i + 1))" "$1" "${OFFS[$i]}" || return 1; done
}
compare_tb() {  # compare_tb NAME FILE: size, every block and the data map of FILE = the plain file
  local name=$1 f=$2 i
  check "$name: size equals the plain file's" test "$(size_of "$f")" = "$(size_of "$WORK/plain/tb")"
  for i in "${!OFFS[@]}"; do
    check "$name: block at ${OFFS[$i]} equals the plain file's" \
      within 10 cmp <(block "$f" "${OFFS[$i]}") <(block "$WORK/plain/tb" "${OFFS[$i]}")
  done
  check "$name: a hole in between reads zeros" within 10 is_zeros "$f" $((700 << 30)) 65536
  within 10 data_map "$f" >"$WORK/map.mnt" || fail "$name: xfs_io seek hung"
  data_map "$WORK/plain/tb" >"$WORK/map.plain"
  if ! diff "$WORK/map.plain" "$WORK/map.mnt" >"$WORK/map.diff"; then
    cat "$WORK/map.diff" >&2
  fi
  check "$name: SEEK_DATA/SEEK_HOLE map equals the plain file's ($(wc -l <"$WORK/map.plain") segments)" \
    diff -q "$WORK/map.plain" "$WORK/map.mnt"
  check "$name: st_blocks counts only data (du -k $(kib_used "$f") < 1024)" test "$(kib_used "$f")" -lt 1024
}
if part tb || part remote; then
  build_tb "$WORK/plain/tb"
  check "the plain filesystem keeps holes (du -k of the plain 1 TB file: $(kib_used "$WORK/plain/tb"))" \
    test "$(kib_used "$WORK/plain/tb")" -lt 1024
  timed ms 60 build_tb "$MNT/tb" || fail "building a 1 TB sparse file on the mount failed or hung (${ms} ms)"
  echo "# 1 TB sparse file with ${#OFFS[@]} blocks on the mount: ${ms} ms"
  check "1 TB file with ${#OFFS[@]} blocks built within 10 s (${ms} ms)" test "$ms" -le 10000
  compare_tb "1 TB" "$MNT/tb"
  check "body.bin < 64 MiB with the 1 TB file ($(body_size))" test "$(body_size)" -lt $((64 << 20))
  PUNCH=${OFFS[2]}
  check "fallocate -p on the plain file" fallocate -p -o "$PUNCH" -l 4096 "$WORK/plain/tb"
  check "fallocate -p (punch a hole) on the mount" within 10 fallocate -p -o "$PUNCH" -l 4096 "$MNT/tb"
  check "the punched block reads zeros" within 10 is_zeros "$MNT/tb" "$PUNCH"
  compare_tb "1 TB punched" "$MNT/tb"
  check "unmount with the 1 TB file" umount_m "$MNT"
  mount_m "$STORE" "$MNT"
  compare_tb "1 TB after remount" "$MNT/tb"
fi

# ---------------------------------------------------------------- push / pull keep holes
if part remote; then
  REMOTE=file://$WORK/remote
  mkdir -p "$WORK/remote"
  check "unmount before the push" umount_m "$MNT"
  check "docfs push a store with a 1 TB sparse file" within 60 "$DOCFS" push "$STORE" sparse --remote "$REMOTE" -q
  obj=$(size_of "$WORK/remote/sparse")
  echo "# pushed object: $obj bytes"
  check "the pushed object is small (< 1 MiB: $obj bytes)" test "$obj" -lt $((1 << 20))
  check "docfs pull it" within 60 "$DOCFS" pull sparse "$WORK/dest" --remote "$REMOTE" -q
  check "the pulled body.bin is small (< 64 MiB)" test "$(stat -c %s "$WORK/dest/body.bin")" -lt $((64 << 20))
  check "fsck of the pulled store" within 60 "$DOCFS" fsck "$WORK/dest"
  mount_m "$WORK/dest" "$WORK/mdest" -o ro
  compare_tb "pulled, read-only mount" "$WORK/mdest/tb"
  check "unmount the pulled store" umount_m "$WORK/mdest"
  mount_m "$STORE" "$MNT"
fi

# ---------------------------------------------------------------- a 1 GiB commit blocks no one
if part latency; then
  check "unmount before the latency run" umount_m "$MNT"
  # attr/entry timeouts 0: every stat reaches the daemon instead of the kernel's cache.
  mount_m "$STORE" "$MNT" -o attr_timeout=0,entry_timeout=0
  head -c 1G /dev/urandom >"$WORK/plain/1g"
  within 5 cp "$WORK/blk1" "$MNT/other" || fail "cp of 4 KiB hung"
  within 5 mkdir "$MNT/lat" || fail "mkdir hung"
  python3 - "$MNT" "$WORK/lat.stop" "$WORK/lat.out" <<'PY' &
import os, sys, time
mnt, stop, out = sys.argv[1:4]
lat = []
while not os.path.exists(stop):
    t = time.monotonic()
    os.mkdir(f"{mnt}/lat/d{len(lat)}")
    os.stat(f"{mnt}/other")
    lat.append(time.monotonic() - t)
    time.sleep(0.01)
lat.sort()
with open(out, "w") as f:
    f.write(f"{lat[-1] * 1000:.0f} {lat[len(lat) * 99 // 100] * 1000:.0f} {len(lat)}\n")
PY
  PROBER=$!
  sleep 0.5
  timed ms 120 cp "$WORK/plain/1g" "$MNT/1g" || fail "cp of 1 GiB into the mount failed or hung (${ms} ms)"
  sleep 0.5
  touch "$WORK/lat.stop"
  wait_exit "$PROBER" 10 || { kill_daemons; fail "the mkdir/stat prober did not finish (a request hangs)"; }
  PROBER=
  [ -s "$WORK/lat.out" ] || fail "the mkdir/stat prober failed"
  read -r worst p99 probes <"$WORK/lat.out"
  echo "# cp of 1 GiB (write + commit on close): ${ms} ms; mkdir + stat elsewhere meanwhile:" \
    "worst ${worst} ms, p99 ${p99} ms, ${probes} probes"
  check "mkdir/stat answered during the 1 GiB commit (worst ${worst} ms <= 2000 ms)" test "$worst" -le 2000
  check "the 1 GiB file reads back" within 60 cmp "$WORK/plain/1g" "$MNT/1g"
  rm -f "$WORK/plain/1g"
fi

check "final unmount" umount_m "$MNT"
check "fsck clean" within 120 "$DOCFS" fsck "$STORE"
