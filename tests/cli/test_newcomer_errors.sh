#!/usr/bin/env bash
# The errors a newcomer meets first each say what to do: missing store, missing or
# non-directory or non-empty mount point, a mount point already mounted, a locked store,
# an unreachable remote.
set -euo pipefail
DOCFS=${DOCFS:?}
work=$(mktemp -d)
cleanup() { fusermount3 -uz "$work/m" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_error() {  # expect_error PATTERN CMD...: exits non-zero and says PATTERN
  local pattern=$1; shift
  if "$@" >"$work/out" 2>"$work/err"; then fail "'$*' succeeded"; fi
  grep -q -- "$pattern" "$work/err" || fail "'$*' said: $(cat "$work/err") (wanted: $pattern)"
}
"$DOCFS" init "$work/s" >/dev/null
mkdir -p "$work/m" "$work/full"
touch "$work/file" "$work/full/x"
expect_error "create one with: docfs init" "$DOCFS" mount "$work/nostore" "$work/m"
expect_error "create it with: mkdir -p" "$DOCFS" mount "$work/s" "$work/nodir"
expect_error "is not a directory" "$DOCFS" mount "$work/s" "$work/file"
expect_error "is not empty.*-o nonempty" "$DOCFS" mount "$work/s" "$work/full"
"$DOCFS" mount "$work/s" "$work/m"
expect_error "already a FUSE mount.*docfs umount" "$DOCFS" mount "$work/s" "$work/m"
expect_error "is locked by pid [0-9]* (a mount" "$DOCFS" put "$work/s" "$work/file"
"$DOCFS" ls "$work/s" >/dev/null || fail "a reader beside the mount"
"$DOCFS" umount "$work/m"
grep -q " $work/m " /proc/mounts && fail "still mounted after umount"
expect_error "Couldn't connect\|connect" env AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s \
  "$DOCFS" keys --remote s3://bucket --endpoint http://127.0.0.1:9 --retries 1
expect_error "not a valid\|invalid\|key" "$DOCFS" push "$work/s" "../escape"
echo "newcomer errors: all messages say what to do"
