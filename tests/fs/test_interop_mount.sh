# A store imported from files DocArray 0.21.1 and Jina 2.0.10 wrote (tests/fixtures), mounted:
# content is the document's text / blob / tensor (.npy), every other field is an attribute,
# and user.docarray carries the whole typed record both ways.
. "$(dirname "$0")/lib.sh"

FIX=$DOCFS_SOURCE_DIR/tests/fixtures
new_store "$STORE"
check "import DocArray jsonschema JSON" "$DOCFS" import "$STORE" "$FIX/docarray-v0/da.jsonschema.json"
mount_store "$STORE" "$MNT"

val() { getfattr --absolute-names --only-values -n "$1" "$2"; }
check "text is the file" test "$(cat "$MNT/tagged")" = "a tagged doc"
check "id with a slash is a path" test "$(cat "$MNT/folder/nested.txt")" = "id with a slash"
check "blob bytes are the file" bash -c "head -c 4 '$MNT/blob-png' | xxd -p | grep -q 89504e47"
check "a tensor is a .npy file" bash -c "head -c 6 '$MNT/tensor-f32' | xxd -p | grep -q 934e554d5059"
check "a float tag keeps its type" test "$(val user.tag.count "$MNT/tagged")" = 3.0
check "a bool tag" test "$(val user.tag.ok "$MNT/tagged")" = true
check "an object tag is JSON" test "$(val user.tag.nested "$MNT/tagged")" = '{"k":"v"}'
# float64 embedding 1.5, -2.25, 3.0 shown as float32 little-endian
check "user.embedding of a float64 embedding is float32" \
  test "$(val user.embedding "$MNT/emb-f64" | xxd -p)" = 0000c03f000010c000004040
check "user.docarray is listed when chunks exist" bash -c "getfattr --absolute-names -d '$MNT/with-chunks' | grep -q user.docarray"
check "user.docarray has the chunks" bash -c "val() { getfattr --absolute-names --only-values -n \$1 \$2; }; \
  val user.docarray '$MNT/with-chunks' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [c[\"text\"] for c in d[\"chunks\"]]==[\"chunk 0\",\"chunk 1\"], d; assert d[\"matches\"][0][\"scores\"][\"cosine\"][\"value\"]==0.25'"
check "set user.docarray" setfattr -n user.docarray \
  -v '{"scores": {"bm25": {"value": 1.5}}, "tags": {"n": 7}, "parent_id": "p"}' "$MNT/tagged"
check "the record changed" bash -c "getfattr --absolute-names --only-values -n user.docarray '$MNT/tagged' | \
  python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"scores\"][\"bm25\"][\"value\"]==1.5 and d[\"tags\"]=={\"n\":7} and d[\"parent_id\"]==\"p\", d'"
check "a typed tag set through user.docarray reads as JSON text" test "$(val user.tag.n "$MNT/tagged")" = 7
check "content unchanged by user.docarray" test "$(cat "$MNT/tagged")" = "a tagged doc"
check_fails "user.docarray refuses bad JSON" "Invalid argument" setfattr -n user.docarray -v '{"scores": 3' "$MNT/tagged"
# cp -a out of the mount carries user.docarray, where the disk under WORK keeps user xattrs.
if touch "$WORK/probe" && setfattr -n user.probe -v 1 "$WORK/probe" 2>/dev/null; then
  check "cp -a out keeps user.docarray" bash -c "cp -a '$MNT/with-chunks' '$WORK/copy' && \
    getfattr --absolute-names -d '$WORK/copy' | grep -q user.docarray"
else
  echo "# skipped the cp -a check: the file system under $WORK keeps no user xattrs"
fi
umount_store "$MNT"
check "stat --json after remount shows the typed record" bash -c "'$DOCFS' stat '$STORE' tagged --json | \
  python3 -c 'import json,sys; d=json.load(sys.stdin)[\"docarray\"]; assert d[\"scores\"][\"bm25\"][\"value\"]==1.5'"
check "get --field chunks" bash -c "'$DOCFS' get '$STORE' with-chunks --field chunks | grep -q 'chunk 1'"
