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
           "import $dam $FIX/jina-dam-store.save_json.jsonl" "ls $dam" "fsck $dam"; do
  set +e; out=$($DOCFS $cmd 2>&1); rc=$?; set -e
  [[ $rc == 1 ]] || fail "docfs $cmd exited $rc: $out"
  grep -q "Jina DocumentArrayMemmap store (key length 36, 21 documents)" <<<"$out" || fail "docfs $cmd: $out"
  grep -q "docfs import NEWSTORE $dam" <<<"$out" || fail "docfs $cmd does not say how to convert: $out"
done
mkdir "$work/mnt"
set +e; out=$(timeout 20 $DOCFS mount "$dam" "$work/mnt" 2>&1); rc=$?; set -e
[[ $rc != 0 ]] || { fusermount3 -uz "$work/mnt" 2>/dev/null; fail "a read-write mount of a Jina DAM started"; }
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
echo "ok: Jina DAM refused for writing, left byte-identical, converted to what Jina reads"
