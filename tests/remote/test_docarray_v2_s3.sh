#!/usr/bin/env bash
# DocArray 0.40.1's s3:// objects (tests/fixtures/docarray-v2/s3-objects: the whole object
# gzip around pickles), uploaded with Debian's awscli to a local S3 server: keys lists them as
# docarray; a pull decodes the pickles with docfs's restricted decoder into the same
# documents as DocArray's file:// (protobuf) push of them; a pickle naming a global outside
# the subset is refused naming it, touching nothing; push --format docarray to s3:// is refused.
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
check "pull texts (NAME.docs, pickles)" "$DOCFS" pull texts got -q
check "upload DocArray's mydocs.docs" aws_cp "$FIX/s3-objects/mydocs.docs" s3://bkt/v2/mydocs.docs
check "pull mydocs.docs" "$DOCFS" pull mydocs.docs gotmy -q
mkdir -p fileremote && cp "$FIX"/file-remote/*.docs fileremote/
check "pull the file:// pushes of the same documents" bash -c "'$DOCFS' pull texts ft -q --remote file://$WORK/fileremote && '$DOCFS' pull mydocs fm -q --remote file://$WORK/fileremote"
check "s3 texts equal file:// texts" bash -c "cmp <('$DOCFS' export got --format jsonl) <('$DOCFS' export ft --format jsonl)"
check "s3 mydocs equal file:// mydocs" bash -c "cmp <('$DOCFS' export gotmy --format jsonl) <('$DOCFS' export fm --format jsonl)"
# A pickle that names os.system: refused by name, nothing created.
python3 -c "
import gzip, pickle, os, struct, sys
class Evil:
    def __reduce__(self): return (os.system, ('echo pwned >$WORK/pwned',))
p = pickle.dumps(Evil(), protocol=4)
sys.stdout.buffer.write(gzip.compress(struct.pack('>I', len(p)) + p + struct.pack('>I', 0)))" >evil.docs
check "upload evil.docs" aws_cp evil.docs s3://bkt/v2/evil.docs
check_fails "a pickle naming os.system is refused by name" 1 "global (posix|os)\.system" "$DOCFS" pull evil gotevil
check "nothing ran, nothing was created" bash -c "test ! -e '$WORK/pwned' && test ! -e gotevil"
"$DOCFS" init small >/dev/null
check_fails "push --format docarray to s3:// is refused" 1 "file:// remotes only" "$DOCFS" push small x --format docarray
