# Versions as extents (issue 16), through a mount: a change costs what it changes and the
# content is always the same as the same operations on a plain file.
#   - a 64 MiB file; 200 appends of 100 bytes with `>>` (open, write, close each): body.bin
#     grows by < 1 MiB; random 4 KiB overwrites (dd conv=notrunc) with `sync` in between;
#     truncate down and up (a hole): cmp-equal to the plain file after each step, after a
#     remount and after `docfs prune` on the mounted store; fsck clean after unmount.
#   - SQLite (sqlite3 CLI, default rollback journal, synchronous=FULL): 2,000 single-row
#     INSERT transactions, PRAGMA integrity_check = ok; then a writer commits one row per
#     transaction and logs each count once its COMMIT returned (the commit fsyncs), the
#     daemon is SIGKILLed mid-stream: after a remount integrity_check = ok and every logged
#     row is there.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || fail "sqlite3 is missing (scripts/install-deps.sh installs it)"

SEED=${EXTENTS_SEED:-$RANDOM}
RANDOM=$SEED
echo "# seed $SEED"
body() { stat -c %s "$STORE/body.bin"; }
PLAIN=$WORK/plain
F=$MNT/big

new_store "$STORE"
# No background compaction or defragmentation while body.bin growth is measured.
mount_store "$STORE" "$MNT" -o compact_interval=3600

# ---- a big file, appends ----
head -c $((64 << 20)) /dev/urandom >"$PLAIN"
cp "$PLAIN" "$F"
sync
check "64 MiB file equal" cmp "$PLAIN" "$F"
before=$(body)
for i in $(seq 1 200); do
  line=$(printf 'append %03d %-88s\n' "$i" "$RANDOM")  # 100 bytes with the newline
  printf '%s\n' "$line" >>"$PLAIN"
  printf '%s\n' "$line" >>"$F"
done
grown=$(($(body) - before))
echo "# 200 appends of 100 bytes: body.bin grew by $grown bytes"
check "200 appends grow body.bin by < 1 MiB ($grown bytes)" test "$grown" -lt $((1 << 20))
check "content equal after the appends" cmp "$PLAIN" "$F"

# ---- random 4 KiB overwrites, sync interleaved ----
blocks=$(($(stat -c %s "$PLAIN") / 4096))
before=$(body)
for i in $(seq 1 60); do
  head -c 4096 /dev/urandom >"$WORK/blk"
  b=$(( (RANDOM * 32768 + RANDOM) % blocks ))
  dd if="$WORK/blk" of="$PLAIN" bs=4096 seek="$b" conv=notrunc status=none
  dd if="$WORK/blk" of="$F" bs=4096 seek="$b" conv=notrunc status=none
  ((i % 10 == 0)) && sync
done
# One that straddles the end of the file.
head -c 10000 /dev/urandom >"$WORK/blk"
end=$(stat -c %s "$PLAIN")
for f in "$PLAIN" "$F"; do dd if="$WORK/blk" of="$f" bs=1 seek=$((end - 3000)) conv=notrunc status=none; done
sync
grown=$(($(body) - before))
check "61 overwrites grow body.bin by < 4 MiB ($grown bytes)" test "$grown" -lt $((4 << 20))
check "content equal after random overwrites" cmp "$PLAIN" "$F"

# ---- truncate down, then up (a hole), then write into the hole ----
for f in "$PLAIN" "$F"; do truncate -s $((40 << 20)) "$f"; done
check "content equal after truncate down" cmp "$PLAIN" "$F"
for f in "$PLAIN" "$F"; do truncate -s $((70 << 20)) "$f"; done
check "content equal after truncate up" cmp "$PLAIN" "$F"
head -c 5000 /dev/urandom >"$WORK/blk"
for f in "$PLAIN" "$F"; do
  dd if="$WORK/blk" of="$f" bs=1 seek=$((50 << 20)) conv=notrunc status=none
  printf 'tail\n' >>"$f"
done
sync
check "content equal after a write into the hole and an append" cmp "$PLAIN" "$F"

# ---- remount, prune ----
umount_store "$MNT"
mount_store "$STORE" "$MNT"
check "content equal after a remount" cmp "$PLAIN" "$F"
check "docfs prune on the mounted store" "$DOCFS" prune "$STORE"
check "content equal after prune" cmp "$PLAIN" "$F"
printf 'after prune\n' | tee -a "$PLAIN" >>"$F"
check "content equal after an append to the pruned file" cmp "$PLAIN" "$F"
umount_store "$MNT"
check "fsck clean after unmount" "$DOCFS" fsck "$STORE"
mount_store "$STORE" "$MNT"
check "content equal after a second remount" cmp "$PLAIN" "$F"
rm "$F"
umount_store "$MNT"

# ---- SQLite ----
mount_fg "$STORE" "$MNT"
DB=$MNT/t.db
sqlite3 "$DB" 'CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);'
seq 1 2000 | awk '{ printf "INSERT INTO t(v) VALUES (hex(randomblob(40)));\n" }' >"$WORK/ins.sql"
s=$(date +%s.%N)
sqlite3 "$DB" <"$WORK/ins.sql"
echo "# 2000 INSERT transactions: $(awk -v s="$s" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
check "2000 rows" test "$(sqlite3 "$DB" 'SELECT count(*) FROM t;')" = 2000
check "integrity_check ok" test "$(sqlite3 "$DB" 'PRAGMA integrity_check;')" = ok

# A writer that logs, outside the mount, the row count after each COMMIT returned.
(
  while n=$(sqlite3 "$DB" 'INSERT INTO t(v) VALUES (hex(randomblob(40))); SELECT count(*) FROM t;' 2>/dev/null); do
    echo "$n" >>"$WORK/committed"
  done
) &
WRITER=$!
_PIDS+=("$WRITER")
sleep "$(awk -v r=$((RANDOM % 1500)) 'BEGIN { printf "%.3f", 1 + r / 1000 }')"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
# The writer first: its next call fails on the dead connection (ENOTCONN). Unmounting
# before it exits let it create its journal in the plain directory under the mount
# point, and the remount then refused a non-empty mount point.
wait "$WRITER" 2>/dev/null || true
fusermount3 -uz "$MNT"
is_mounted "$MNT" || find "$MNT" -mindepth 1 -delete
last=$(tail -1 "$WORK/committed" 2>/dev/null || echo 2000)
echo "# daemon killed; the last COMMIT that returned left $last rows"
check "the writer committed rows before the kill" test "$last" -gt 2000
# The killed daemon's lock goes with its files: retry briefly while it says "locked".
for i in $(seq 1 300); do  # up to about 30 s on a loaded machine
  "$DOCFS" mount -f "$STORE" "$MNT" 2>>"$WORK/daemon.log" &
  DAEMON_PID=$!
  _PIDS+=("$DAEMON_PID")
  for j in $(seq 1 100); do
    is_mounted "$MNT" && break 2
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.05
  done
  sleep 0.1
done
is_mounted "$MNT" || tail -20 "$WORK/daemon.log" >&2
check "remounted after the kill" is_mounted "$MNT"
check "integrity_check ok after the kill" test "$(sqlite3 "$DB" 'PRAGMA integrity_check;')" = ok
rows=$(sqlite3 "$DB" 'SELECT count(*) FROM t;')
echo "# after the remount: $rows rows"
check "every committed row is there ($rows >= $last)" test "$rows" -ge "$last"
check "at most the one transaction in flight more ($rows <= $last + 1)" test "$rows" -le $((last + 1))
umount_store "$MNT"
wait "$DAEMON_PID" 2>/dev/null || true
check "fsck clean after the SQLite part" "$DOCFS" fsck "$STORE"
