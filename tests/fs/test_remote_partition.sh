#!/usr/bin/env bash
# Issue 17: a network partition. Mount A reaches the S3 test server through the fault proxy,
# mount B directly. While A is cut off (every request reset), both change key k; B pushes.
# A's fsync fails (the key stays local and dirty, nothing lost); when the partition heals,
# A's retry finds k changed on the remote: A's work goes to a conflict key, k takes B's
# version, the status says so, and every file of both sides is readable on both mounts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote_lib.sh"
DOCFS_SOURCE_DIR=${DOCFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$DOCFS_SOURCE_DIR/tests/s3server/lib.sh"
. "$(dirname "$0")/conflict_lib.sh"

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
REMOTE=s3://bkt/arrays
s3_start "$WORK/s3" bkt 3
_PIDS+=("$S3_PID")
export AWS_ENDPOINT_URL=$S3_ENDPOINT
PPORT=$(_s3_free_port)
node "$DOCFS_SOURCE_DIR/tests/faultproxy/faultproxy.js" "$PPORT" "$S3_PORT" >"$WORK/proxy.log" 2>&1 &
_PIDS+=("$!")
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PPORT/__fault/stats" >/dev/null && break; sleep 0.1; done
fault() { curl -sf "http://127.0.0.1:$PPORT/__fault?$1" >/dev/null; }

new_store "$WORK/A"
new_store "$WORK/B"
MA=$WORK/ma MB=$WORK/mb
mount_fg "$WORK/A" "$MA" --remote "$REMOTE" -o "remote_endpoint=http://127.0.0.1:$PPORT,remote_ttl=0,push_delay=600"
mount_fg "$WORK/B" "$MB" --remote "$REMOTE" -o "remote_endpoint=$S3_ENDPOINT,remote_ttl=0,push_delay=600"

check "mkdir k on A" mkdir "$MA/.remote/k"
echo base >"$MA/.remote/k/base.txt"
check "A pushes the base version" fsync_rc "$MA/.remote/k/base.txt"
check "B reads it" test "$(cat "$MB/.remote/k/base.txt")" = base

# The partition: every request from A is reset, for as long as it lasts.
fault "mode=reset&count=100000"
echo "A, cut off" >"$MA/.remote/k/a.txt"
echo "A's version" >"$MA/.remote/k/same.txt"
rc=0
fsync_rc "$MA/.remote/k/same.txt" || rc=$?
check "A's fsync during the partition fails with EIO" test "$rc" = 5
check "A's status shows the error" grep -q '^error: ' <<<"$(key_status "$MA/.remote/k")"
check "A's work is still there, locally" test "$(cat "$MA/.remote/k/a.txt")" = "A, cut off"
echo "B, connected" >"$MB/.remote/k/b.txt"
echo "B's version" >"$MB/.remote/k/same.txt"
check "B pushes meanwhile" fsync_rc "$MB/.remote/k/same.txt"

# The partition heals: A's retried push finds k changed and keeps both.
fault "mode=none&count=0"
rc=0
fsync_rc "$MA/.remote/k/same.txt" || rc=$?
check "A's first fsync after the partition reports the conflict (EIO)" test "$rc" = 5
st=$(key_status "$MA/.remote/k")
echo "# A's status: $st"
check "A's status says conflict" grep -q '^conflict: key k changed on the remote' <<<"$st"
CKEY=$(grep -o 'key k\.conflict-[A-Za-z0-9-]*' <<<"$st" | head -1 | cut -d' ' -f2)
check "the status names the conflict key" test -n "$CKEY"
ls "$MA/.remote/k" >/dev/null
sleep 1.2  # what the kernel cached before
for m in "$MA" "$MB"; do
  check "$m: k has B's version" test "$(cat "$m/.remote/k/same.txt")" = "B's version"
  check "$m: k has B's own file" test -f "$m/.remote/k/b.txt"
  check "$m: the conflict key has A's version" test "$(cat "$m/.remote/$CKEY/same.txt")" = "A's version"
  check "$m: the conflict key has A's own file" test "$(cat "$m/.remote/$CKEY/a.txt")" = "A, cut off"
  check "$m: both have the base" test "$(cat "$m/.remote/k/base.txt")$(cat "$m/.remote/$CKEY/base.txt")" = basebase
done
check "A works on: its next fsync pushes" bash -c "echo later > '$MA/.remote/k/later.txt' && true"
check "and succeeds" fsync_rc "$MA/.remote/k/later.txt"
check "then A's status is clean" test "$(key_status "$MA/.remote/k")" = clean
umount_store "$MA"
umount_store "$MB"
s3_stop
