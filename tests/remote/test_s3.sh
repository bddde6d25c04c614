#!/usr/bin/env bash
# push / pull / keys / rm-key / share / gc against a real S3 server on 127.0.0.1:
# @20minutes/s3rver 4.0.4 (checks SigV4 signatures) for the suite, then s3rver 3.7.1 for a
# compatibility round trip. Servers are stopped by PID in the trap, also on failure.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
AWS=/usr/bin/aws
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
start_server "$WORK/s3" bkt 4
export AWS_ENDPOINT_URL=$S3_ENDPOINT
export DOCFS_REMOTE=s3://bkt/arrays
aws_cp() { "$AWS" s3 cp --only-show-errors --endpoint-url "$S3_ENDPOINT" "$@"; }

make_store small 20 3000
# Big enough for a multipart upload of 3 parts of 8 MiB and parallel ranged GETs.
make_store big 3 $((7 * 1024 * 1024 + 12345))

# ---- round trips
check "push small (single PUT)" "$DOCFS" push small k1
check "pull small" "$DOCFS" pull k1 got1
check "small round trip is identical" same_store small got1
check "push big (multipart, parallel parts)" "$DOCFS" push big k2 --concurrency 3
check "server saw a multipart upload" grep -q "uploadId" "$WORK/s3.log"
check "pull big (parallel ranged GETs)" "$DOCFS" pull k2 got2 --concurrency 3
check "big round trip is identical" same_store big got2

# ---- an object pushed by docfs, downloaded by Debian's awscli, is the same archive
check "aws s3 cp downloads the object" aws_cp s3://bkt/arrays/k2 "$WORK/k2.aws"
mkdir -p "$WORK/fileremote"; cp "$WORK/k2.aws" "$WORK/fileremote/k2"
check "the awscli copy verifies and unpacks" "$DOCFS" pull k2 got2b --remote "file://$WORK/fileremote"
check "and equals the pushed store" same_store big got2b

# ---- override
check "push small over k2" "$DOCFS" push small k2
check "pull k2 over an existing store" "$DOCFS" pull k2 got2
check "overridden key gives the new array" same_store small got2

# ---- list and delete
"$DOCFS" keys >"$WORK/keys.tsv"
check "keys lists k1 and k2" bash -c "cut -f1 '$WORK/keys.tsv' | tr '\n' ' ' | grep -qx 'k1 k2 '"
check "keys --json parses" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert [k['key'] for k in d]==['k1','k2'] and d[0]['documents']==21" <("$DOCFS" keys --json)
check "rm-key k1" "$DOCFS" rm-key k1
check_fails "rm-key of a missing key fails" 1 "no key k1" "$DOCFS" rm-key k1
check "keys no longer lists k1" bash -c "! '$DOCFS' keys | grep -q '^k1'"
check "the object is gone for awscli too" bash -c "! '$AWS' s3 ls --endpoint-url '$S3_ENDPOINT' s3://bkt/arrays/ | grep -q ' k1$'"

# ---- ttl
check "push with --ttl 1s" "$DOCFS" push small short --ttl 1s
sleep 1.5
check "expired key is not listed" bash -c "! '$DOCFS' keys | grep -q '^short'"
check_fails "expired key is not pulled" 1 "expired at" "$DOCFS" pull short nope
check "gc deletes the expired key" bash -c "'$DOCFS' gc | grep -q 'deleted expired key short'"
check "expired object is gone" bash -c "! '$AWS' s3 ls --endpoint-url '$S3_ENDPOINT' s3://bkt/arrays/ | grep -q short"

# ---- share: presigned URL, pulled by curl and by docfs with no credentials
check "push big for sharing" "$DOCFS" push big shared
url=$("$DOCFS" share shared --expires 10m)
check "share prints an http URL with a signature" bash -c "[[ '$url' == http://127.0.0.1:$S3_PORT/bkt/arrays/shared?*X-Amz-Signature=* ]]"
check "curl downloads the presigned URL" curl -sSf -o "$WORK/shared.curl" "$url"
check "curl copy equals the awscli copy" bash -c "aws_cp() { '$AWS' s3 cp --only-show-errors --endpoint-url '$S3_ENDPOINT' \"\$@\"; }; aws_cp s3://bkt/arrays/shared '$WORK/shared.aws' && cmp '$WORK/shared.curl' '$WORK/shared.aws'"
check "docfs pull URL with no credentials" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_ENDPOINT_URL -u DOCFS_REMOTE "$DOCFS" pull "$url" got3
check "presigned pull is identical" same_store big got3
check_fails "a tampered link is refused by the server" 1 "403" "$DOCFS" pull "${url/shared?/k2?}" got4
check_fails "share --expires over 7 days refused" 2 "7d" "$DOCFS" share shared --expires 8d
check "share --expires 7d works" "$DOCFS" share shared --expires 7d

# ---- refused archives leave the destination store untouched
aws_cp s3://bkt/arrays/k2 "$WORK/k2.orig"
size=$(stat -c %s "$WORK/k2.orig")
before=$(fingerprint small)
put_bad() { aws_cp "$WORK/bad" s3://bkt/arrays/bad; }
cp "$WORK/k2.orig" "$WORK/bad"; patch_file "$WORK/bad" $((size - 10)) 00; patch_file "$WORK/bad" $((size - 9)) ff; put_bad
check_fails "corrupt archive refused" 1 "SHA-256 check failed" "$DOCFS" pull bad small
head -c $((size - 100)) "$WORK/k2.orig" >"$WORK/bad"; put_bad
check_fails "truncated archive refused" 1 "length check failed" "$DOCFS" pull bad small
cp "$WORK/k2.orig" "$WORK/bad"; patch_file "$WORK/bad" 8 07; put_bad
check_fails "newer format version refused naming both versions" 1 "format version 7 is newer .*version 3" "$DOCFS" pull bad small
check_fails "--max-bytes refuses before downloading" 1 "more than --max-bytes.*nothing was downloaded" "$DOCFS" pull shared small --max-bytes 1M
check "local store untouched by every refused pull" test "$before" == "$(fingerprint small)"
check "no pull leftovers" bash -c "! ls -A '$WORK' | grep -q '\.pull-'"

# ---- wrong secret: the server's message is shown, the secret is not
check_fails "wrong secret shows the server's error" 1 "403 SignatureDoesNotMatch" \
  env AWS_SECRET_ACCESS_KEY=not-the-secret-0123 "$DOCFS" push small k9
check "the secret is not printed" bash -c "! grep -q not-the-secret '$WORK/err'"
n403=$(grep -c " 403 " "$WORK/s3.log" || true)
check_fails "403 on a HEAD" 1 "403" env AWS_SECRET_ACCESS_KEY=x "$DOCFS" share k2 --retries 5
check "403 is not retried (one 403 in the server log)" test $(($(grep -c " 403 " "$WORK/s3.log") - n403)) -eq 1

# ---- invalid key names
for bad in "../x" "a/b" ".." "a b"; do
  check_fails "invalid key '$bad' refused" 2 "invalid key" "$DOCFS" push small "$bad"
done

# ---- server stopped mid-push: the old object stays, the error is clear
make_store huge 6 $((8 * 1024 * 1024))
check "k2 holds the small array before" bash -c "'$DOCFS' pull k2 '$WORK/old' && [[ \$('$DOCFS' export small | sha256sum) == \$('$DOCFS' export '$WORK/old' | sha256sum) ]]"
set +e
"$DOCFS" push huge k2 --concurrency 1 --retries 2 >"$WORK/push.out" 2>"$WORK/push.err" &
push_pid=$!
for _ in $(seq 100); do grep -q "partNumber\|uploadId\|Uploaded part\|uploads" "$WORK/s3.log" 2>/dev/null && break; sleep 0.05; done
sleep 0.2
s3_stop
wait $push_pid
push_rc=$?
set -e
check "interrupted push fails" test $push_rc -eq 1
cat "$WORK/push.err"
check "with a clear error" grep -Eq "Couldn't connect|Connection refused|connection|Failure|Recv failure|Send failure|Empty reply" "$WORK/push.err"
S3_PORT_WANTED=$S3_PORT start_server "$WORK/s3" bkt 4
check "after a restart the old object is intact" bash -c "rm -rf '$WORK/old' && '$DOCFS' pull k2 '$WORK/old' && [[ \$('$DOCFS' export small | sha256sum) == \$('$DOCFS' export '$WORK/old' | sha256sum) ]]"
check "and a new push succeeds" "$DOCFS" push huge k2
s3_stop

# ---- s3rver 3.7.1: the other server the lead's CI may use
start_server "$WORK/s3v3" bkt 3
export AWS_ENDPOINT_URL=$S3_ENDPOINT
check "3.7.1: push small" "$DOCFS" push small k1
check "3.7.1: push big (multipart)" "$DOCFS" push big k2
check "3.7.1: keys" bash -c "'$DOCFS' keys | cut -f1 | tr '\n' ' ' | grep -qx 'k1 k2 '"
check "3.7.1: pull small" "$DOCFS" pull k1 v3a
check "3.7.1: pull big" "$DOCFS" pull k2 v3b
check "3.7.1: identical" bash -c "[[ \$('$DOCFS' export small | sha256sum) == \$('$DOCFS' export v3a | sha256sum) && \$('$DOCFS' export big | sha256sum) == \$('$DOCFS' export v3b | sha256sum) ]]"
url=$("$DOCFS" share k2 --expires 1m)
check "3.7.1: presigned pull" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$DOCFS" pull "$url" v3c
check "3.7.1: rm-key" "$DOCFS" rm-key k1 k2
