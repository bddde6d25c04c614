#!/usr/bin/env bash
# A Jina 2.0.10 DocumentArrayMemmap directory: every writing command refuses it, names it and
# leaves it byte-identical; docfs import converts it (reading only) to what Jina itself reads.
set -euo pipefail
DOCFS=${DOCFS:-build/docfs}
FIX=${DOCFS_SOURCE_DIR:-.}/tests/fixtures/jina
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
dam=$work/dam
cp -r "$FIX/jina-dam-store" "$dam"
snapshot() { (cd "$dam" && ls -A && stat -c '%n %s %y' . * && sha256sum *); }
before=$(snapshot)

echo hello >"$work/x.txt"
for cmd in "put $dam $work/x.txt" "rm $dam text-0" "mv $dam text-0 t0" "prune $dam" "init $dam" \
           "import $dam $FIX/jina-dam-store.save_json.jsonl" "fsck $dam"; do
  set +e; out=$($DOCFS $cmd 2>&1); rc=$?; set -e
  [[ $rc == 1 ]] || fail "docfs $cmd exited $rc: $out"
  grep -q "Jina DocumentArrayMemmap store (key length 36, 21 documents)" <<<"$out" || fail "docfs $cmd: $out"
  grep -q "docfs import NEWSTORE $dam" <<<"$out" || fail "docfs $cmd does not say how to convert: $out"
done
mkdir "$work/mnt"
set +e; out=$(timeout 20 $DOCFS mount "$dam" "$work/mnt" 2>&1); rc=$?; set -e
[[ $rc != 0 ]] || { fusermount3 -uz "$work/mnt" 2>/dev/null; fail "a read-write mount of a Jina DAM started"; }
grep -q "Jina DocumentArrayMemmap store (key length 36, 21 documents).*-o ro" <<<"$out" || fail "rw mount message: $out"
after=$(snapshot)
[[ $before == "$after" ]] || fail "the Jina directory changed: $after"

"$DOCFS" init "$work/s" >/dev/null
"$DOCFS" import "$work/s" "$dam" >"$work/report"
grep -q "key length 36: 23 header rows, 21 live documents, 1 deleted (tombstone rows), 1 superseded rows, 1 ids longer" "$work/report" \
  || fail "import report: $(cat "$work/report")"
[[ $before == "$(snapshot)" ]] || fail "import changed the Jina directory"
# Every document Jina itself read back on reopen, by its full id, with its text.
"$DOCFS" export "$work/s" --format jsonl >"$work/out.jsonl"
python3 - "$FIX/jina-dam-store.expected.json" "$work/out.jsonl" <<'PY'
import json, sys
expected = json.load(open(sys.argv[1]))["reopened"]
mine = {d["id"]: d for d in map(json.loads, open(sys.argv[2]))}
want = {v["doc.id"]: v for v in expected.values()}
assert len(mine) == 21, len(mine)
assert set(mine) == set(want), set(mine) ^ set(want)
for i, v in want.items():
    if v.get("text") is not None:
        assert mine[i]["text"] == v["text"], (i, mine[i]["text"], v["text"])
assert "to-delete" not in mine
PY
"$DOCFS" get "$work/s" this-id-is-much-longer-than-thirty-six-characters-0123456789 >/dev/null
# Forcing a wrong key length is a clear error.
set +e; out=$("$DOCFS" import "$work/s" "$dam" --key-length 35 2>&1); rc=$?; set -e
[[ $rc == 1 ]] && grep -q "does not read as a Jina DAM with key length 35" <<<"$out" || fail "--key-length 35: $out"

# ---- read in place: ls, get, stat, export on the DAM directory itself
"$DOCFS" ls "$dam" >"$work/ls.dam"
"$DOCFS" ls "$work/s" >"$work/ls.store"
cmp "$work/ls.dam" "$work/ls.store" || fail "ls DAMDIR differs from ls of the converted store"
[[ $(wc -l <"$work/ls.dam") == 21 ]] || fail "ls DAMDIR: $(cat "$work/ls.dam")"
"$DOCFS" ls -l "$dam" >/dev/null
long=this-id-is-much-longer-than-thirty-six-characters-0123456789
for id in text-0 blob-f32 buffer-png "$long"; do
  cmp <("$DOCFS" get "$dam" "$id") <("$DOCFS" get "$work/s" "$id") || fail "get $id differs"
  cmp <("$DOCFS" get "$dam" "$id" --json) <("$DOCFS" get "$work/s" "$id" --json) || fail "get --json $id differs"
  diff <("$DOCFS" stat "$dam" "$id" | grep -v modified) <("$DOCFS" stat "$work/s" "$id" | grep -v modified) || fail "stat $id"
done
"$DOCFS" stat "$dam" | grep -q "key length     36" || fail "stat DAMDIR: $("$DOCFS" stat "$dam")"
"$DOCFS" stat "$dam" --json | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["documents"]==21 and j["tombstones"]==1, j'
set +e; out=$("$DOCFS" get "$dam" no-such-doc 2>&1); rc=$?; set -e
[[ $rc == 1 ]] && grep -q "no document 'no-such-doc' in $dam" <<<"$out" || fail "get missing: $out"
cmp <("$DOCFS" export "$dam" --format jsonl) "$work/out.jsonl" || fail "export DAMDIR differs from export of the converted store"
[[ $before == "$(snapshot)" ]] || fail "reading in place changed the Jina directory"

# ---- write one back: export jina-dam, re-import, equal documents
"$DOCFS" export "$work/s" --format jina-dam -o "$work/back" >"$work/back.out"
grep -q "key length 60; Jina needs DocumentArrayMemmap('$work/back', key_length=60)" "$work/back.out" || fail "export: $(cat "$work/back.out")"
"$DOCFS" init "$work/s2" >/dev/null
"$DOCFS" import "$work/s2" "$work/back" >"$work/report2"
grep -q "key length 60: 21 header rows, 21 live documents, 0 deleted" "$work/report2" || fail "re-import: $(cat "$work/report2")"
"$DOCFS" export "$work/s2" --format jsonl >"$work/out2.jsonl"
cmp "$work/out.jsonl" "$work/out2.jsonl" || fail "documents changed through export jina-dam + import"
for id in $("$DOCFS" ls "$work/s"); do
  cmp <("$DOCFS" get "$work/s" "$id" --json) <("$DOCFS" get "$work/s2" "$id" --json) || fail "round trip: $id differs"
done
cmp <("$DOCFS" ls "$work/back" --key-length 60) "$work/ls.dam" || fail "ls --key-length 60"
set +e; out=$("$DOCFS" ls "$work/back" --key-length 59 2>&1); rc=$?; set -e
[[ $rc == 1 ]] && grep -q "does not read as a Jina DAM with key length 59" <<<"$out" || fail "ls --key-length 59: $out"
# An empty DIR is fine, a non-empty one and a truncating key length are refused.
mkdir "$work/empty"; "$DOCFS" export "$work/s" --format jina-dam -o "$work/empty" >/dev/null
[[ -s $work/empty/header.bin ]] || fail "export into an empty directory"
set +e; out=$("$DOCFS" export "$work/s" --format jina-dam -o "$work/back" 2>&1); rc=$?; set -e
[[ $rc == 1 ]] && grep -q "is not empty" <<<"$out" || fail "export into a non-empty dir: $out"
set +e; out=$("$DOCFS" export "$work/s" --format jina-dam -o "$work/k36" --key-length 36 2>&1); rc=$?; set -e
[[ $rc == 1 ]] && grep -q "would truncate id '$long' (60 characters)" <<<"$out" || fail "--key-length 36: $out"
[[ ! -e $work/k36 ]] || fail "a refused export left $work/k36"
ls -A "$work" | grep -q docfs-export && fail "a temp dir was left behind"
# Jina's own code opens what we wrote (when Jina 2.0.10's sources are here).
if /usr/bin/python3 -c 'import numpy, google.protobuf' 2>/dev/null && [[ -f /work/shared/interop/jina/read_with_jina.py ]]; then
  PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python /usr/bin/python3 /work/shared/interop/jina/read_with_jina.py "$work/back" 60 >"$work/jina.out" 2>&1 \
    || fail "Jina cannot read our export: $(tail -5 "$work/jina.out")"
  grep -q "DocumentArrayMemmap OK: 21 live docs" "$work/jina.out" || fail "Jina: $(head -3 "$work/jina.out")"
fi

# ---- damaged stores: read what can be read, name row and offset of what cannot
bad=$work/bad; cp -r "$FIX/jina-dam-store" "$bad"
head -c 100 /dev/urandom >>"$bad/header.bin"   # a torn append
"$DOCFS" ls "$bad" >"$work/ls.bad" 2>"$work/ls.bad.err"
cmp "$work/ls.bad" "$work/ls.dam" || fail "torn tail: ls differs"
grep -q "torn row: its last 100 bytes (from byte 3864)" "$work/ls.bad.err" || fail "torn tail warning: $(cat "$work/ls.bad.err")"
# Row 3 points past body.bin; row 4's document bytes are garbage.
python3 - "$bad/header.bin" "$bad/body.bin" <<'PY'
import struct, sys
h = bytearray(open(sys.argv[1], 'rb').read()); row = 168
struct.pack_into('<qqq', h, 3 * row + 144, 1 << 40, 0, 50)
open(sys.argv[1], 'wb').write(h)
p, r, rl = struct.unpack_from('<qqq', h, 4 * row + 144)
b = bytearray(open(sys.argv[2], 'rb').read()); b[p + r:p + r + 4] = b'\xff\xff\xff\xff'
open(sys.argv[2], 'wb').write(b)
PY
"$DOCFS" ls "$bad" >"$work/ls.bad" 2>"$work/ls.bad.err"
[[ $(wc -l <"$work/ls.bad") == 19 ]] || fail "damaged: $(cat "$work/ls.bad")"
grep -q "header row 3 at header.bin byte 504: it points at body.bin bytes 1099511627776..1099511627826, past its end" "$work/ls.bad.err" \
  || fail "row past body.bin: $(cat "$work/ls.bad.err")"
grep -q "header row 4 at header.bin byte 672, body.bin bytes" "$work/ls.bad.err" || fail "bad protobuf: $(cat "$work/ls.bad.err")"
touch "$bad/embeddings.bin"
out=$("$DOCFS" ls "$bad" 2>&1 >/dev/null)
grep -q "embeddings.bin is present" <<<"$out" || fail "embeddings.bin not mentioned: $out"
"$DOCFS" init "$work/s3" >/dev/null
set +e; out=$("$DOCFS" import "$work/s3" "$bad" 2>&1); rc=$?; set -e
[[ $rc == 1 ]] && grep -q "header row 3" <<<"$out" || fail "import of a damaged DAM: $out"
"$DOCFS" import "$work/s3" "$bad" --skip-bad >"$work/report3" 2>"$work/report3.err"
grep -q "imported 19 documents, skipped 2" "$work/report3" || fail "skip-bad: $(cat "$work/report3" "$work/report3.err")"
echo "ok: Jina DAM refused for writing, left byte-identical, read in place, converted, written back, damage reported"
