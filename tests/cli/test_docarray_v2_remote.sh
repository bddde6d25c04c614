#!/usr/bin/env bash
# DocArray 0.40.1's own file:// pushes (tests/fixtures/docarray-v2) on a file:// remote: keys
# lists them as docarray with their counts; pull takes NAME and NAME.docs into stores, field
# by field; push --format docarray writes NAME.docs whose documents decode equal to the
# originals (every field, nested ones too); broken objects fail naming the byte and leave the
# destination untouched; a non-archive is "not a docfs archive", never "newer version".
set -euo pipefail
DOCFS=${DOCFS:-build/docfs}
SRC=${DOCFS_SOURCE_DIR:-.}
FIX=$SRC/tests/fixtures/docarray-v2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir "$work/remote" "$work/out"
cp "$FIX"/file-remote/*.docs "$work/remote/"
chmod u+w "$work/remote"/*
R=file://$work/remote
O=file://$work/out

keys=$("$DOCFS" keys --remote "$R")
for want in "texts.docs 693 6 docarray" "images.docs 456 3 docarray" "mydocs.docs 454 2 docarray"; do
  awk -F'\t' '{print $1, $2, $3, $6}' <<<"$keys" | grep -qxF "$want" || fail "keys lacks '$want': $keys"
done

"$DOCFS" pull texts "$work/texts" --remote "$R" -q
"$DOCFS" pull images.docs "$work/images" --remote "$R" -q
"$DOCFS" pull mydocs "$work/mydocs" --remote "$R" -q
[[ $("$DOCFS" ls "$work/texts" | wc -l) == 6 ]] || fail "texts: $("$DOCFS" ls "$work/texts")"
[[ $("$DOCFS" get "$work/texts" text-plain) == "hello world" ]] || fail "text-plain content"
[[ $("$DOCFS" get "$work/texts" folder/nested.txt) == "id with a slash" ]] || fail "nested id"
cmp <("$DOCFS" get "$work/texts" text-bytes) <(printf '\000\377 raw bytes') || fail "text-bytes content"
"$DOCFS" stat "$work/images" img-url | grep -q "https://example.com/cat.png" || fail "img-url uri"
[[ $("$DOCFS" ls "$work/mydocs" | wc -l) == 2 ]] || fail "mydocs"

# Back in DocArray's format; every document decodes equal to the original.
"$DOCFS" push "$work/texts" texts --format docarray --remote "$O" -q
"$DOCFS" push "$work/images" images --format docarray --remote "$O" -q
"$DOCFS" push "$work/mydocs" mydocs.docs --format docarray --remote "$O" -q
[[ ! -e $work/out/texts.docs.tmp ]] || fail "the .tmp file stayed"
python3 - "$SRC/interop/proto" "$work/remote" "$work/out" <<'PY'
import gzip, struct, subprocess, sys
proto_dir, a_dir, b_dir = sys.argv[1:]
def docs(path):
    b, o, out = open(path, 'rb').read(), 0, []
    while True:
        (n,) = struct.unpack('>I', b[o:o + 4]); o += 4
        if n == 0:
            assert o == len(b), f'{path}: bytes after the end marker'
            return out
        raw = gzip.decompress(b[o:o + n]); o += n
        # protoc prints map entries sorted by key: equal text = equal documents
        out.append(subprocess.run(['protoc', f'-I{proto_dir}', '--decode=docfs.interop.docarray_v2.DocProto',
                                   f'{proto_dir}/docarray_v2.proto'], input=raw, capture_output=True, check=True).stdout)
for name in ('texts', 'images', 'mydocs'):
    a, b = docs(f'{a_dir}/{name}.docs'), docs(f'{b_dir}/{name}.docs')
    assert len(a) == len(b), (name, len(a), len(b))
    for x, y in zip(a, b):
        assert x == y, (name, x, y)
print('pushed documents decode equal to DocArray\'s own')
PY

# A pushed object pulls back too, and keys counts it.
"$DOCFS" keys --remote "$O" | awk -F'\t' '$1 == "texts.docs" && $3 == 6 && $6 == "docarray"' | grep -q . ||
  fail "out keys: $("$DOCFS" keys --remote "$O")"
"$DOCFS" pull texts "$work/texts2" --remote "$O" -q
cmp <("$DOCFS" export "$work/texts" --format jsonl) <("$DOCFS" export "$work/texts2" --format jsonl) || fail "texts round trip"

# Broken objects: the error names the byte, the destination stays as it was.
head -c 600 "$FIX/file-remote/texts.docs" >"$work/remote/cut.docs"
set +e; out=$("$DOCFS" pull cut "$work/texts" --remote "$R" 2>&1); rc=$?; set -e
[[ $rc != 0 ]] || fail "a truncated object pulled"
grep -q "at byte" <<<"$out" || fail "no byte offset: $out"
[[ $("$DOCFS" ls "$work/texts" | wc -l) == 6 ]] || fail "the failed pull changed the destination"
head -c 689 "$FIX/file-remote/texts.docs" >"$work/remote/noend.docs"
set +e; out=$("$DOCFS" pull noend.docs "$work/new" --remote "$R" 2>&1); set -e
grep -q "without DocArray's end marker" <<<"$out" || fail "missing end marker: $out"
[[ ! -e $work/new ]] || fail "a failed pull left $work/new"

# Magic before version: DocArray's bytes under a plain key are not a docfs archive.
cp "$FIX/file-remote/texts.docs" "$work/remote/plainkey"
set +e; out=$("$DOCFS" pull plainkey "$work/new" --remote "$R" 2>&1); set -e
grep -q "not a docfs archive" <<<"$out" || fail "plainkey: $out"
grep -q "newer" <<<"$out" && fail "a version was read before the magic: $out"

# The mount shows DocArray keys under .remote/NAME.docs/; reading them pushes nothing
# (writes are tests/fs/test_remote_docarray.sh's).
"$DOCFS" init "$work/m" >/dev/null
mkdir "$work/mnt"
timeout 20 "$DOCFS" mount "$work/m" "$work/mnt" -o "remote=$R"
trap 'fusermount3 -uz "$work/mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
[[ $(cat "$work/mnt/.remote/texts.docs/folder/nested.txt") == "id with a slash" ]] || fail "mount: nested.txt"
[[ $(getfattr --only-values -n user.tag.title "$work/mnt/.remote/mydocs.docs/my-0" 2>/dev/null) == first ]] || fail "mount: tag"
set +e; mkdir "$work/mnt/.remote/new.docs" 2>/dev/null; rc=$?; set -e
[[ $rc != 0 ]] || fail "mkdir .remote/new.docs worked without -o remote_format=docarray"
"$DOCFS" umount "$work/mnt"
cmp "$FIX/file-remote/texts.docs" "$work/remote/texts.docs" || fail "the mount changed DocArray's object"

# Where DocArray itself runs (see ../shared/interop/README.md), it reads the pushes.
reader=/work/shared/interop/docarray-v2/read_with_docarray_v2.py
if [[ -x /usr/bin/python3 && -f $reader ]] && /usr/bin/python3 "$reader" pull "file://$work/out/texts" TextDoc >"$work/da" 2>&1; then
  grep -q "pull OK: 6 docs" "$work/da" || fail "DocArray: $(cat "$work/da")"
  /usr/bin/python3 "$reader" pull "file://$work/out/images" ImageDoc >"$work/da" 2>&1 || true
  grep -q "pull OK: 3 docs" "$work/da" || fail "DocArray images: $(cat "$work/da")"
  /usr/bin/python3 "$reader" pull "file://$work/out/mydocs" MyDoc >"$work/da" 2>&1 || true
  grep -q "pull OK: 2 docs" "$work/da" || fail "DocArray mydocs: $(cat "$work/da")"
  echo "DocArray 0.40.1 pulled the pushes"
else
  echo "DocArray 0.40.1 not runnable here: skipped its check"
fi
echo OK
