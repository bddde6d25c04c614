#!/usr/bin/env bash
# Issue 17 on a file:// remote: two mounts of two stores share key k; both write a file of
# their own and the same file, then fsync at the same time. The compare-and-rename under the
# remote directory's flock lets one push win; the other fsync fails with EIO, its changes
# become key k.conflict-HOST-TIME, its status says so, and k gets the winner's version.
# Nothing is lost: every file written is readable afterwards in k or the conflict key.
# Also: `docfs push --if-match/--if-absent`, and a plain push that says what it replaced.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote_lib.sh"

REMOTE=file://$WORK/remote
mkdir -p "$WORK/remote"
new_store "$WORK/A"
new_store "$WORK/B"
MA=$WORK/ma
MB=$WORK/mb
# push_delay is long: only the fsyncs push.
mount_fg "$WORK/A" "$MA" -o "remote=$REMOTE,remote_ttl=0,push_delay=600"
mount_fg "$WORK/B" "$MB" -o "remote=$REMOTE,remote_ttl=0,push_delay=600"

. "$(dirname "$0")/conflict_lib.sh"
two_mount_conflict "$MA" "$MB" together
check "the remote holds k and exactly one conflict key" test "$(ls "$WORK/remote" | grep -c '^k\.conflict-')" = 1

# ---- the CLI: --if-match / --if-absent / a plain push says what it replaced
new_store "$WORK/C"
echo one >"$WORK/one.txt"
"$DOCFS" put "$WORK/C" "$WORK/one.txt" >/dev/null
check "--if-absent creates a new key" "$DOCFS" push "$WORK/C" cli --if-absent --remote "$REMOTE" -q
check_fails "--if-absent on an existing key" "push refused" "$DOCFS" push "$WORK/C" cli --if-absent --remote "$REMOTE" -q
ETAG=$("$DOCFS" keys --json --remote "$REMOTE" | python3 -c "import json,sys; print([k['etag'] for k in json.load(sys.stdin) if k['key']=='cli'][0])")
check_fails "--if-match with a wrong etag" "holds etag $ETAG" "$DOCFS" push "$WORK/C" cli --if-match nope --remote "$REMOTE" -q
check "--if-match with the current etag" "$DOCFS" push "$WORK/C" cli --if-match "$ETAG" --remote "$REMOTE" -q
check_fails "--if-match with the old etag after that" "push refused" "$DOCFS" push "$WORK/C" cli --if-match "$ETAG" --remote "$REMOTE" -q
check "a plain push says what it replaced" bash -c "'$DOCFS' push '$WORK/C' cli --remote '$REMOTE' | grep -q '^replaced etag .* pushed at '"
check_fails "--if-match and --if-absent together" "exclude" "$DOCFS" push "$WORK/C" cli --if-absent --if-match x --remote "$REMOTE"
