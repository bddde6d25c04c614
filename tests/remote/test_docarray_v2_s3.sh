#!/usr/bin/env bash
# DocArray 0.40.1's s3:// objects (tests/fixtures/docarray-v2/s3-objects: the whole object
# gzip around pickles), uploaded with Debian's awscli to a local S3 server: keys lists them as
# docarray; a pull decodes the pickles with docfs's restricted decoder into the same
# documents as DocArray's file:// (protobuf) push of them; a pickle naming a global outside
# the subset is refused naming it, touching nothing; push --format docarray to s3:// writes
# DocArray's object that pulls back equal (s3rver 4.0.4 and 3.7.1) and DocArray itself reads.
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

# push --format docarray to s3:// writes DocArray's object (gzip around framed pickles, by
# docfs's own writer): it pulls back equal, field by field, on s3rver 4.0.4 and 3.7.1.
same_docs() {  # same_docs STORE_A STORE_B: every DocArray record equal (via file:// pushes + protoc)
  local out=$WORK/cmp.$RANDOM
  mkdir -p "$out"
  "$DOCFS" push "$1" a --format docarray --remote "file://$out" -q &&
    "$DOCFS" push "$2" b --format docarray --remote "file://$out" -q &&
    python3 "$DOCFS_SOURCE_DIR/tests/remote/docarray_v2_same.py" "$DOCFS_SOURCE_DIR/interop/proto" "$out/a.docs" "$out/b.docs"
}
"$DOCFS" init plain >/dev/null
printf 'plain text\n' >note.txt
head -c 1000 /dev/urandom >blob.bin
"$DOCFS" put plain note.txt --id note.txt >/dev/null
"$DOCFS" put plain blob.bin --id blob.bin >/dev/null
roundtrip() {  # roundtrip LABEL
  local v=$1
  check "s3rver $v: push texts --format docarray" "$DOCFS" push got "texts-rt" --format docarray
  check "s3rver $v: push mydocs --format docarray" "$DOCFS" push gotmy "mydocs-rt.docs" --format docarray
  check "s3rver $v: push a plain store (TextDocs)" "$DOCFS" push plain "plain-rt" --format docarray
  check "s3rver $v: keys lists them as docarray" bash -c "'$DOCFS' keys | awk -F'\t' '\$6==\"docarray\"{print \$1}' >'$WORK/k' && grep -qx mydocs-rt.docs '$WORK/k' && grep -qx plain-rt.docs '$WORK/k' && grep -qx texts-rt.docs '$WORK/k'"
  check "s3rver $v: the object is one gzip" bash -c "'$AWS' s3 cp --only-show-errors --endpoint-url '$S3_ENDPOINT' s3://bkt/v2/texts-rt.docs - | gzip -t"
  check "s3rver $v: pull texts-rt" "$DOCFS" pull texts-rt "rt$v" -q
  check "s3rver $v: pull mydocs-rt" "$DOCFS" pull mydocs-rt "rtmy$v" -q
  check "s3rver $v: pull plain-rt" "$DOCFS" pull plain-rt "rtplain$v" -q
  check "s3rver $v: texts equal, field by field" same_docs got "rt$v"
  check "s3rver $v: mydocs equal, field by field" same_docs gotmy "rtmy$v"
  check "s3rver $v: texts' contents and attributes" bash -c "cmp <('$DOCFS' export got --format jsonl) <('$DOCFS' export rt$v --format jsonl)"
  check "s3rver $v: plain contents" bash -c "cmp <('$DOCFS' get plain blob.bin) <('$DOCFS' get rtplain$v blob.bin) && test \"\$('$DOCFS' get rtplain$v note.txt)\" = 'plain text'"
}
roundtrip 4
check_fails "a document whose class file:// did not record is refused for s3://" 1 "class is unknown" \
  "$DOCFS" push fm fm-rt --format docarray
check "the refused push left no object" bash -c "! '$DOCFS' keys | grep -q fm-rt"

# Where DocArray 0.40.1 runs with boto3 (../shared/interop/README.md), it pulls the pushes.
reader=/work/shared/interop/docarray-v2/read_with_docarray_v2.py
if [[ -f $reader ]] && /usr/bin/python3 -c 'import boto3, smart_open' 2>/dev/null; then
  check "DocArray pulls texts-rt" bash -c "/usr/bin/python3 '$reader' pull s3://bkt/v2/texts-rt TextDoc '$S3_ENDPOINT' | tee '$WORK/da' | grep -q 'pull OK: 6 docs'"
  check "DocArray pulls mydocs-rt" bash -c "/usr/bin/python3 '$reader' pull s3://bkt/v2/mydocs-rt MyDoc '$S3_ENDPOINT' | tee '$WORK/da' | grep -q 'pull OK: 2 docs'"
  check "DocArray pulls plain-rt" bash -c "/usr/bin/python3 '$reader' pull s3://bkt/v2/plain-rt TextDoc '$S3_ENDPOINT' | tee '$WORK/da' | grep -q 'pull OK: 2 docs'"
else
  echo "DocArray 0.40.1 with boto3 not runnable here: skipped its check"
fi

start_server "$WORK/s3v3" bkt 3
export AWS_ENDPOINT_URL=$S3_ENDPOINT
check "s3rver 3: upload DocArray's objects" aws_cp "$FIX/s3-objects/texts.docs" s3://bkt/v2/texts.docs
roundtrip 3
