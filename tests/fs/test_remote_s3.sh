#!/usr/bin/env bash
# .remote/ against a real S3 server (s3rver on 127.0.0.1): two mounts of two stores share
# s3://bkt/arrays. Mount A goes through tests/faultproxy so a push can be caught in flight.
# Write on A / read on B, fsync, cp -r of 2,000 files in one push, the server stopped
# during a push (status shows the error, data stays local, the retry succeeds once the
# server is back), cached reads while the server is down, EIO for what is not cached.
# Mounts are unmounted and servers stopped by PID in lib.sh's trap.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote_lib.sh"
DOCFS_SOURCE_DIR=${DOCFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$DOCFS_SOURCE_DIR/tests/s3server/lib.sh"

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
s3_start "$WORK/s3" bkt 3
_PIDS+=("$S3_PID")
SPORT=$S3_PORT
export AWS_ENDPOINT_URL=$S3_ENDPOINT  # for the docfs CLI checks

PPORT=$(_s3_free_port)
node "$DOCFS_SOURCE_DIR/tests/faultproxy/faultproxy.js" "$PPORT" "$SPORT" >"$WORK/proxy.log" 2>&1 &
_PIDS+=("$!")
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PPORT/__fault/stats" >/dev/null && break; sleep 0.1; done
fault() { curl -sf "http://127.0.0.1:$PPORT/__fault?$1" >/dev/null; }

REMOTE=s3://bkt/arrays
new_store "$WORK/A"
new_store "$WORK/B"
MA=$WORK/ma
MB=$WORK/mb
mount_store "$WORK/A" "$MA" --remote "$REMOTE" -o "remote_endpoint=http://127.0.0.1:$PPORT,remote_ttl=0,push_delay=1"
mount_fg "$WORK/B" "$MB" --remote "$REMOTE" -o "remote_endpoint=$S3_ENDPOINT,remote_ttl=0,push_delay=1"

# ---- write on A, read on B
check "an empty bucket lists no keys" test -z "$(ls "$MA/.remote")"
check "mkdir a key" mkdir "$MA/.remote/k"
echo hello >"$MA/.remote/k/hello.txt"
mkdir -p "$MA/.remote/k/sub"
random_file "$WORK/big.bin" 2000000
cp "$WORK/big.bin" "$MA/.remote/k/sub/big.bin"
setfattr -n user.mime_type -v text/plain "$MA/.remote/k/hello.txt"
check "pushed to S3" wait_status "$MA/.remote/k" clean 20
check "one push" test "$(key_pushes "$MA/.remote/k")" = 1
check "B lists the key" bash -c "ls '$MB/.remote' | grep -qx k"
check "B reads it" test "$(cat "$MB/.remote/k/hello.txt")" = hello
check "B reads the big file" cmp "$MB/.remote/k/sub/big.bin" "$WORK/big.bin"
check "B sees the xattr" test "$(getfattr --absolute-names --only-values -n user.mime_type "$MB/.remote/k/hello.txt")" = text/plain

# ---- fsync on B pushes before it returns
python3 -c "
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b'from B\n'); os.fsync(fd); os.close(fd)" "$MB/.remote/k/fromb.txt"
check "the bucket has it when fsync returns" remote_has_doc "$REMOTE" k fromb.txt
check "A sees B's file" test "$(cat "$MA/.remote/k/fromb.txt")" = "from B"

# ---- cp -r of 2,000 files: one push
make_tree "$WORK/tree" 2000 100
check "mkdir key many" mkdir "$MA/.remote/many"
check "cp -r 2,000 files" cp -r "$WORK/tree/." "$MA/.remote/many/"
check "pushed" wait_status "$MA/.remote/many" clean 40
check "2,000 files, one push" test "$(key_pushes "$MA/.remote/many")" = 1
check "B's copy equals the source" diff -r "$WORK/tree" "$MB/.remote/many"

# ---- the server stops during a push
fault "mode=delay&count=1&match=PUT&delay_ms=2500"
echo "written while the server dies" >"$MA/.remote/k/during.txt"
check "the push starts" wait_status "$MA/.remote/k" pushing 10
s3_stop
check "the status shows the error" wait_status "$MA/.remote/k" "error: " 40
check "the error names a time" bash -c "key_status() { getfattr --absolute-names --only-values -n user.docfs.status \"\$1\"; }; key_status '$MA/.remote/k' | grep -q 'UTC)'"
check "the data stays local" test "$(cat "$MA/.remote/k/during.txt")" = "written while the server dies"
S3_PORT_WANTED=$SPORT s3_start "$WORK/s3" bkt 3
_PIDS+=("$S3_PID")
check "the retry succeeds once the server is back" wait_status "$MA/.remote/k" clean 60
check "the bucket has the file" remote_has_doc "$REMOTE" k during.txt

# ---- the server unreachable: cached reads work, uncached keys fail with EIO
mkdir "$MA/.remote/other"
python3 -c "
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644); os.write(fd, b'x'); os.fsync(fd); os.close(fd)" "$MA/.remote/other/x"
s3_stop
check "B reads its cached copy" test "$(cat "$MB/.remote/k/hello.txt")" = hello
check "B lists its cached tree" test "$(find "$MB/.remote/many" -type f | wc -l)" = 2000
check "and logged a warning" grep -q "unreachable, serving the cached copy" "$WORK/daemon.log"
check_fails "a key B never pulled: EIO" "Input/output error" ls "$MB/.remote/other/"
check "the reason is logged" grep -q "other" "$WORK/daemon.log"
