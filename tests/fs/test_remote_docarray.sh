#!/usr/bin/env bash
# .remote/NAME.docs/ (DocArray 0.40.1's objects) written through a mount is pushed back in
# DocArray's own format: file:// as the gzip'd-DocProto stream, s3:// (s3rver 4) as gzip'd
# pickles. After each push, `docfs pull` of the object gives what was written, the untouched
# documents keep every field (compared as DocProtos), and keys still says docarray. A key
# made with mkdir is a docfs archive unless the mount has -o remote_format=docarray, which
# makes NAME.docs. A push that loses a conflict keeps the edits as a conflict key (issue 17).
# Mounts are unmounted (fusermount3 -uz) and servers stopped in the trap.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote_lib.sh"
DOCFS_SOURCE_DIR=${DOCFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$DOCFS_SOURCE_DIR/tests/s3server/lib.sh"
. "$(dirname "$0")/conflict_lib.sh"
FIX=$DOCFS_SOURCE_DIR/tests/fixtures/docarray-v2

# same_docs STORE_A STORE_B [ID...]: the documents' DocArray records are equal, field by
# field (both pushed to file:// with --format docarray, decoded by protoc).
same_docs() {
  local a=$1 b=$2 out=$WORK/cmp.$RANDOM
  shift 2
  mkdir -p "$out"
  "$DOCFS" push "$a" a --format docarray --remote "file://$out" -q
  "$DOCFS" push "$b" b --format docarray --remote "file://$out" -q
  python3 "$DOCFS_SOURCE_DIR/tests/remote/docarray_v2_same.py" "$DOCFS_SOURCE_DIR/interop/proto" "$out/a.docs" "$out/b.docs" "$@"
}

edit_key() {  # edit_key KEYDIR: the same edits on every backend
  local k=$1
  printf 'changed through the mount\n' >"$k/text-plain"
  printf 'a new file\n' >"$k/new.txt"
  rm "$k/text-bytes"
}

check_pulled() {  # check_pulled REMOTE ORIGINAL_STORE: the pushed object as the mount left it
  local r=$1 orig=$2 got=$WORK/got.$RANDOM
  check "the key is still a DocArray object" bash -c "'$DOCFS' keys --remote '$r' | awk -F'\t' '\$1==\"texts.docs\" && \$6==\"docarray\"' | grep -q ."
  check "docfs pull of the object" "$DOCFS" pull texts "$got" --remote "$r" -q
  check "the edited document" test "$("$DOCFS" get "$got" text-plain)" = "changed through the mount"
  check "the new document (a TextDoc)" test "$("$DOCFS" get "$got" new.txt)" = "a new file"
  check "the removed document is gone" bash -c "! '$DOCFS' ls '$got' | grep -qx text-bytes"
  check "the others keep every field" same_docs "$orig" "$got" text-unicode text-emb folder/nested.txt e97ef36a4b6df67d12bd6552952f3ec0
  check "six documents" test "$("$DOCFS" ls "$got" | wc -l)" -eq 6
}

# ---- file://
mkdir -p "$WORK/fr"
cp "$FIX"/file-remote/*.docs "$WORK/fr/" && chmod u+w "$WORK/fr"/*
R=file://$WORK/fr
"$DOCFS" pull texts "$WORK/orig" --remote "$R" -q
new_store "$STORE"
mount_store "$STORE" "$MNT" --remote "$R" -o "remote_ttl=0,push_delay=0.3"
check "the DocArray key is listed" test -d "$MNT/.remote/texts.docs"
edit_key "$MNT/.remote/texts.docs"
check "the key is pushed" wait_status "$MNT/.remote/texts.docs" clean 30
check "no temporary file is left on the remote" bash -c "! ls -a '$WORK/fr' | grep -q tmp"
check_pulled "$R" "$WORK/orig"
check_fails "mkdir NAME.docs without remote_format=docarray" "Invalid argument" mkdir "$MNT/.remote/fresh.docs"
check "mkdir of a docfs key" mkdir "$MNT/.remote/plain"
echo x >"$MNT/.remote/plain/x"
check "a docfs key is pushed as an archive" wait_status "$MNT/.remote/plain" clean 30
check "keys says docfs" bash -c "'$DOCFS' keys --remote '$R' | awk -F'\t' '\$1==\"plain\" && \$6==\"docfs\"' | grep -q ."
umount_store "$MNT"

# ---- -o remote_format=docarray: mkdir makes NAME.docs
new_store "$WORK/s2"
mount_store "$WORK/s2" "$MNT" --remote "$R" -o "remote_ttl=0,push_delay=0.3,remote_format=docarray"
check_fails "mkdir without .docs under remote_format=docarray" "Invalid argument" mkdir "$MNT/.remote/other"
check "mkdir fresh.docs" mkdir "$MNT/.remote/fresh.docs"
printf 'hello docarray\n' >"$MNT/.remote/fresh.docs/greeting"
check "fresh.docs is pushed" wait_status "$MNT/.remote/fresh.docs" clean 30
umount_store "$MNT"
check "fresh.docs is DocArray's stream" bash -c "'$DOCFS' keys --remote '$R' | awk -F'\t' '\$1==\"fresh.docs\" && \$3==1 && \$6==\"docarray\"' | grep -q ."
check "pull fresh" "$DOCFS" pull fresh "$WORK/fresh" --remote "$R" -q
check "fresh holds what was written" test "$("$DOCFS" get "$WORK/fresh" greeting)" = "hello docarray"

# ---- a conflict (issue 17) on a DocArray key: the remote object changed under unpushed edits
new_store "$WORK/s4"
mount_store "$WORK/s4" "$MNT" --remote "$R" -o "remote_ttl=0,push_delay=60"
printf 'edited on the mount\n' >"$MNT/.remote/texts.docs/text-plain"
check "another push replaces texts.docs" "$DOCFS" push "$WORK/fresh" texts --format docarray --remote "$R" -q
rc=0
fsync_rc "$MNT/.remote/texts.docs/text-plain" || rc=$?
check "the mount's fsync answers EIO" test "$rc" = 5
check "the status says conflict" bash -c "getfattr --only-values -n user.docfs.status '$MNT/.remote/texts.docs' | grep -q '^conflict'"
umount_store "$MNT"
ckey=$("$DOCFS" keys --remote "$R" | awk -F'\t' '$1 ~ /^texts\.docs\.conflict-/ {print $1}')
check "the local changes are a conflict key" test -n "$ckey"
check "pull the conflict key" "$DOCFS" pull "$ckey" "$WORK/conflict" --remote "$R" -q
check "it holds the mount's edit" test "$("$DOCFS" get "$WORK/conflict" text-plain)" = "edited on the mount"
check "texts.docs keeps the other push" bash -c "'$DOCFS' pull texts '$WORK/other' --remote '$R' -q && '$DOCFS' ls '$WORK/other' | grep -qx greeting"

# ---- s3:// (s3rver 4, which checks signatures): the object goes back as gzip'd pickles
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
s3_start "$WORK/s3" bkt 4
_PIDS+=("$S3_PID")
export AWS_ENDPOINT_URL=$S3_ENDPOINT
S=s3://bkt/v2
/usr/bin/aws s3 cp --only-show-errors --endpoint-url "$S3_ENDPOINT" "$FIX/s3-objects/texts.docs" "$S/texts.docs"
/usr/bin/aws s3 cp --only-show-errors --endpoint-url "$S3_ENDPOINT" "$FIX/s3-objects/mydocs.docs" "$S/mydocs.docs"
"$DOCFS" pull texts "$WORK/orig3" --remote "$S" -q
"$DOCFS" pull mydocs "$WORK/mydocs3" --remote "$S" -q
new_store "$WORK/s3store"
mount_store "$WORK/s3store" "$MNT" --remote "$S" -o "remote_endpoint=$S3_ENDPOINT,remote_ttl=0,push_delay=0.3"
edit_key "$MNT/.remote/texts.docs"
setfattr -n user.tag.title -v "retitled" "$MNT/.remote/mydocs.docs/my-0"
check "texts.docs is pushed" wait_status "$MNT/.remote/texts.docs" clean 30
check "mydocs.docs is pushed" wait_status "$MNT/.remote/mydocs.docs" clean 30
check "the object is one gzip" bash -c "/usr/bin/aws s3 cp --only-show-errors --endpoint-url '$S3_ENDPOINT' '$S/texts.docs' - | gzip -t"
check_pulled "$S" "$WORK/orig3"
check "pull mydocs back" "$DOCFS" pull mydocs "$WORK/mydocs3b" --remote "$S" -q
check "my-0's edited field" test "$(getfattr --only-values -n user.tag.title "$MNT/.remote/mydocs.docs/my-0")" = retitled
check "my-1 keeps every field (MyDoc, nested TextDoc chunks)" same_docs "$WORK/mydocs3" "$WORK/mydocs3b" my-1
umount_store "$MNT"
check "my-0's edited field after the pull" bash -c "'$DOCFS' get '$WORK/mydocs3b' my-0 --field tags | grep -q retitled"
