#!/usr/bin/env bash
# Issue 17 against Ceph RGW, which honours If-Match / If-None-Match (not in ctest: needs a
# running gateway). Start one with ../shared/peers/ceph-rgw/start.sh, then:
#   RGW_ENV=$CEPH_DIR/env.sh DOCFS=build/docfs bash tests/fs/rgw_conflict.sh
# Runs the two-mount conflict with both fsyncs at once (real conditional writes, no race
# window), checks the probe found atomic conditional writes, and CLI --if-match/--if-absent.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote_lib.sh"
. "$(dirname "$0")/conflict_lib.sh"
: "${RGW_ENV:?set RGW_ENV to the env.sh that start.sh wrote}"
. "$RGW_ENV"
BUCKET=docfs-conflict-$RANDOM
aws s3api create-bucket --bucket "$BUCKET" --endpoint-url "$AWS_ENDPOINT_URL" >/dev/null || fail "cannot create bucket $BUCKET"
REMOTE=s3://$BUCKET/arrays
new_store "$WORK/A"
new_store "$WORK/B"
MA=$WORK/ma MB=$WORK/mb
mount_fg "$WORK/A" "$MA" --remote "$REMOTE" -o "remote_endpoint=$AWS_ENDPOINT_URL,remote_ttl=0,push_delay=600"
mount_fg "$WORK/B" "$MB" --remote "$REMOTE" -o "remote_endpoint=$AWS_ENDPOINT_URL,remote_ttl=0,push_delay=600"
two_mount_conflict "$MA" "$MB" together
check "single PUTs are conditional on RGW (the probe found it)" bash -c "! grep 'ignores conditional writes' '$WORK/daemon.log' | grep -vq 'on multipart uploads'"
export AWS_ENDPOINT_URL
new_store "$WORK/C"
echo one >"$WORK/one.txt"
"$DOCFS" put "$WORK/C" "$WORK/one.txt" >/dev/null
check "--if-absent creates a new key" "$DOCFS" push "$WORK/C" cli --if-absent --remote "$REMOTE" -q
check_fails "--if-absent on an existing key (412 from RGW)" "push refused" "$DOCFS" push "$WORK/C" cli --if-absent --remote "$REMOTE" -q
ETAG=$("$DOCFS" keys --json --remote "$REMOTE" | python3 -c "import json,sys; print([k['etag'] for k in json.load(sys.stdin) if k['key']=='cli'][0])")
check_fails "--if-match with a wrong etag" "holds etag" "$DOCFS" push "$WORK/C" cli --if-match '"0123"' --remote "$REMOTE" -q
check "--if-match with the current etag" "$DOCFS" push "$WORK/C" cli --if-match "$ETAG" --remote "$REMOTE" -q
check_fails "--if-match with the old etag after that" "push refused" "$DOCFS" push "$WORK/C" cli --if-match "$ETAG" --remote "$REMOTE" -q
# Multipart (over 8 MiB): RGW ignores the headers on CompleteMultipartUpload; the probe
# sees that and the HEAD-compare fallback still refuses a stale push.
head -c 20000000 /dev/urandom >"$WORK/big.bin"
"$DOCFS" put "$WORK/C" "$WORK/big.bin" >/dev/null
check "multipart --if-absent creates a key" "$DOCFS" push "$WORK/C" big --if-absent --remote "$REMOTE" -q
check_fails "multipart --if-absent on an existing key" "push refused" "$DOCFS" push "$WORK/C" big --if-absent --remote "$REMOTE" -q
ETAG=$("$DOCFS" keys --json --remote "$REMOTE" | python3 -c "import json,sys; print([k['etag'] for k in json.load(sys.stdin) if k['key']=='big'][0])")
check_fails "multipart --if-match with a wrong etag" "push refused" "$DOCFS" push "$WORK/C" big --if-match '"abc-3"' --remote "$REMOTE" -q
check "multipart --if-match with the current etag" "$DOCFS" push "$WORK/C" big --if-match "$ETAG" --remote "$REMOTE" -q
check_fails "multipart --if-match with the old etag" "push refused" "$DOCFS" push "$WORK/C" big --if-match "$ETAG" --remote "$REMOTE" -q
