#!/usr/bin/env bash
# push / pull / keys / rm-key / gc against a file:// remote (no server): round trips, override,
# expiry, refused archives (corrupt, truncated, oversized, newer version) leaving the local
# store untouched, invalid key names, and the default remote.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
R=file://$WORK/remote
export DOCFS_REMOTE=$R

make_store small 20 3000
make_store big 5 $((7 * 1024 * 1024))

# ---- round trips
check "push small" "$DOCFS" push small k1
check "pull small" "$DOCFS" pull k1 got1
check "small round trip is identical" same_store small got1
check "push big" "$DOCFS" push big k2 --quiet
check "pull big" "$DOCFS" pull k2 got2 --remote "$R"
check "big round trip is identical" same_store big got2
check "no temporary files left in the remote" bash -c "[[ \$(ls -A '$WORK/remote' | sort | tr '\n' ' ') == 'k1 k2 ' ]]"

# ---- override: the same key again replaces the array, and pull replaces an existing store
check "push big over k1" "$DOCFS" push big k1
check "pull k1 over an existing store" "$DOCFS" pull k1 got1
check "overridden key gives the new array" same_store big got1

# ---- list and delete
"$DOCFS" keys >"$WORK/keys.tsv"
check "keys lists k1 and k2" bash -c "cut -f1 '$WORK/keys.tsv' | tr '\n' ' ' | grep -qx 'k1 k2 '"
check "keys shows document counts" bash -c "awk -F'\t' '\$1==\"k2\" && \$3==6' '$WORK/keys.tsv' | grep -q k2"
check "keys --json parses" python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert [k['key'] for k in d]==['k1','k2'] and d[1]['documents']==6" <("$DOCFS" keys --json)
check "rm-key k2" "$DOCFS" rm-key k2
check_fails "rm-key of a missing key fails" 1 "no key k2" "$DOCFS" rm-key k2
check "keys no longer lists k2" bash -c "! '$DOCFS' keys | grep -q '^k2'"
check_fails "pull of a missing key fails" 1 "no key k2" "$DOCFS" pull k2 none
check "a failed pull creates nothing" test ! -e none

# ---- ttl
check "push with --ttl 1s" "$DOCFS" push small short --ttl 1s
sleep 1.5
check "expired key is not listed" bash -c "! '$DOCFS' keys | grep -q '^short'"
check_fails "expired key is not pulled" 1 "expired at" "$DOCFS" pull short nope
check "gc deletes the expired key" bash -c "'$DOCFS' gc | grep -q 'deleted expired key short'"
check "expired key file is gone" test ! -e "$WORK/remote/short"
check "push with --ttl 7d is listed" bash -c "'$DOCFS' push small week --ttl 7d && '$DOCFS' keys | grep -q '^week'"

# ---- refused archives leave the destination store untouched
cp "$WORK/remote/k1" "$WORK/k1.orig"
before=$(fingerprint small)
size=$(stat -c %s "$WORK/k1.orig")
cp "$WORK/k1.orig" "$WORK/remote/bad"; patch_file "$WORK/remote/bad" $((size / 2)) 00
patch_file "$WORK/remote/bad" $((size / 2 + 1)) ff
check_fails "corrupt archive refused" 1 "SHA-256 check failed" "$DOCFS" pull bad small
head -c $((size - 1000)) "$WORK/k1.orig" >"$WORK/remote/bad"
check_fails "truncated archive refused" 1 "length check failed.*truncated" "$DOCFS" pull bad small
head -c 100 "$WORK/k1.orig" >"$WORK/remote/bad"
check_fails "archive shorter than its header refused" 1 "shorter than its 128-byte header" "$DOCFS" pull bad small
cp "$WORK/k1.orig" "$WORK/remote/bad"; patch_file "$WORK/remote/bad" 8 07
check_fails "newer format version refused naming both versions" 1 "format version 7 is newer .*version 3" "$DOCFS" pull bad small
cp "$WORK/k1.orig" "$WORK/remote/bad"; patch_file "$WORK/remote/bad" 0 58
check_fails "bad magic refused" 1 "not a docfs archive" "$DOCFS" pull bad small
check_fails "--max-bytes refuses a larger array" 1 "more than --max-bytes" "$DOCFS" pull k1 small --max-bytes 1M
check "local store untouched by every refused pull" test "$before" == "$(fingerprint small)"
check "no pull leftovers next to the store" bash -c "! ls -A '$WORK' | grep -q '\.pull-'"
check "--max-bytes above the size pulls" "$DOCFS" pull k1 got3 --max-bytes 1G

# ---- disk full: a 16 MiB filesystem for the remote and for a pull's destination
mkdir "$WORK/full"
if mount -t tmpfs -o size=16m tmpfs "$WORK/full" 2>/dev/null; then
  _MOUNTS+=("$WORK/full")
  check "push small to the small filesystem" "$DOCFS" push small keep --remote "file://$WORK/full/remote"
  check_fails "push of a 35 MiB array to it fails, saying why" 1 "No space left on device" \
    "$DOCFS" push big keep --remote "file://$WORK/full/remote"
  check "no temporary file is left in the remote" test "$(ls -A "$WORK/full/remote")" == keep
  check "the key still pulls its old array" "$DOCFS" pull keep "$WORK/keep-back" --remote "file://$WORK/full/remote"
  check "which is the small store" same_store small "$WORK/keep-back"
  "$DOCFS" pull keep "$WORK/full/dest" --remote "file://$WORK/full/remote" >/dev/null
  before=$(fingerprint "$WORK/full/dest")
  check_fails "pull of a 35 MiB array onto it fails, saying why" 1 "No space left on device" "$DOCFS" pull k1 "$WORK/full/dest"
  check "the destination store is untouched" test "$before" == "$(fingerprint "$WORK/full/dest")"
  check "nothing is left beside it" test "$(ls -A "$WORK/full" | tr '\n' ' ')" == "dest remote "
else
  echo "# skip: cannot mount a tmpfs here (not root?)"
fi

# ---- destinations that a pull must not replace
mkdir notastore; echo x >notastore/file
check_fails "non-empty non-store directory refused" 1 "not a docfs store" "$DOCFS" pull k1 notastore
check "it is untouched" test "$(cat notastore/file)" == x

# ---- key names
for bad in "../x" "a/b" "." ".." "with space" "$(printf 'k%.0s' {1..256})" "caf$(printf '\xc3\xa9')"; do
  check_fails "invalid key '${bad:0:20}' refused by push" 2 "invalid key" "$DOCFS" push small "$bad"
done
check_fails "invalid key refused by pull" 2 "invalid key" "$DOCFS" pull "../k1" x
check_fails "invalid key refused by rm-key" 2 "invalid key" "$DOCFS" rm-key "a/b"
check "nothing escaped the remote directory" test ! -e "$WORK/x"
check "longest valid key works" "$DOCFS" push small "$(printf 'k%.0s' {1..255})"

# ---- share is refused with a reason; usage errors exit 2
check_fails "share on file:// explains" 1 "cannot make share links" "$DOCFS" share k1
check_fails "missing arguments" 2 "missing arguments" "$DOCFS" push small
check_fails "bad --ttl" 2 "duration" "$DOCFS" push small k --ttl soon
check_fails "bad remote URL" 1 "not a file:///DIR or s3://" "$DOCFS" keys --remote ftp://x
for c in push pull keys rm-key share gc; do check "$c --help" "$DOCFS" "$c" --help; done

# ---- the default remote: $XDG_DATA_HOME/docfs/remote
unset DOCFS_REMOTE
check "push to the default remote" "$DOCFS" push small dflt
check "it lands in XDG_DATA_HOME" test -f "$XDG_DATA_HOME/docfs/remote/dflt"
check "and pulls back" bash -c "'$DOCFS' pull dflt '$WORK/got4' && [[ \$('$DOCFS' export small | sha256sum) == \$('$DOCFS' export '$WORK/got4' | sha256sum) ]]"
