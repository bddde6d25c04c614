#!/usr/bin/env bash
# DocArray 0.40.1's s3:// objects (tests/fixtures/docarray-v2/s3-objects: the whole object
# gzip around pickles), uploaded with Debian's awscli to a local S3 server: keys lists them as
# docarray; a pull refuses them naming the pickle protocol and touches nothing; push
# --format docarray to s3:// is refused too.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
AWS=/usr/bin/aws
FIX=${DOCFS_SOURCE_DIR:-.}/tests/fixtures/docarray-v2
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
start_server "$WORK/s3" bkt 4
export AWS_ENDPOINT_URL=$S3_ENDPOINT
export DOCFS_REMOTE=s3://bkt/v2
aws_cp() { "$AWS" s3 cp --only-show-errors --endpoint-url "$S3_ENDPOINT" "$@"; }

check "upload DocArray's texts.docs" aws_cp "$FIX/s3-objects/texts.docs" s3://bkt/v2/texts.docs
check "keys lists it as docarray" bash -c "'$DOCFS' keys | awk -F'\t' '\$1==\"texts.docs\" && \$2==579 && \$3==\"?\" && \$6==\"docarray\"' | grep -q ."
check_fails "pull texts names the pickle protocol" 1 "pickle" "$DOCFS" pull texts got
check "nothing was created" test ! -e got
check_fails "pull texts.docs too" 1 "protocol='pickle'" "$DOCFS" pull texts.docs got
"$DOCFS" init small >/dev/null
check_fails "push --format docarray to s3:// is refused" 1 "file:// remotes only" "$DOCFS" push small x --format docarray
