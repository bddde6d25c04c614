# A Jina 2.0.10 DocumentArrayMemmap directory mounted read-only in place: every file and
# user.* attribute equals what a docfs store imported from it shows; the DAM directory stays
# byte-identical with no new entries; the private converted copy is gone after unmount;
# a read-write mount is refused.
. "$(dirname "$0")/lib.sh"

FIX=$DOCFS_SOURCE_DIR/tests/fixtures/jina
dam=$WORK/dam
cp -r "$FIX/jina-dam-store" "$dam"
snapshot() { (cd "$dam" && ls -A && stat -c '%n %s %Y' . * && sha256sum *); }
before=$(snapshot)
export XDG_RUNTIME_DIR=$WORK/runtime   # where the private copy goes, so the test can see it
mkdir -m 0700 "$XDG_RUNTIME_DIR"

mkdir "$WORK/rw"
check_fails "a read-write mount is refused" "Jina DocumentArrayMemmap store (key length 36, 21 documents)" \
  "$DOCFS" mount "$dam" "$WORK/rw"
new_store "$STORE"
check "import the DAM" "$DOCFS" import "$STORE" "$dam"
mount_store "$STORE" "$WORK/ref" -o ro
mount_store "$dam" "$MNT" -o ro
check "the private copy is unlinked once the daemon has it open" \
  test "$(find "$XDG_RUNTIME_DIR" -type f | wc -l)" = 0
check "mounted read-only" bash -c "grep ' $MNT fuse' /proc/mounts | grep -q ' ro,'"
check "fsname is the DAM directory" bash -c "grep -q '^$dam $MNT fuse' /proc/mounts"

compare() {
  python3 - "$MNT" "$WORK/ref" <<'PY'
import os, sys
a, b = sys.argv[1], sys.argv[2]
def tree(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root)
            x = {k: os.getxattr(p, k) for k in os.listxattr(p) if k.startswith('user.')}
            content = open(p, 'rb').read() if os.path.isfile(p) else None
            out[rel] = (os.path.isdir(p), content, x)
    return out
ta, tb = tree(a), tree(b)
assert set(ta) == set(tb), set(ta) ^ set(tb)
assert len([k for k, v in ta.items() if not v[0]]) == 21, len(ta)
for k in ta:
    assert ta[k] == tb[k], (k, ta[k], tb[k])
print(len(ta), "entries equal")
PY
}
check "every file and user.* xattr equals the imported store's" compare
check "content equals docfs get" bash -c "for id in text-0 blob-f32 folder/nested.txt this-id-is-much-longer-than-thirty-six-characters-0123456789; do
  cmp <(cat '$MNT'/\$id) <('$DOCFS' get '$STORE' \$id) || exit 1; done"
check "user.docarray equals docfs get --json" bash -c "
  getfattr --absolute-names --only-values -n user.docarray '$MNT/with-chunks' | python3 -c '
import json, subprocess, sys
m = json.load(sys.stdin)
g = json.loads(subprocess.check_output([\"$DOCFS\", \"get\", \"$STORE\", \"with-chunks\", \"--json\"]))
for k in (\"chunks\", \"matches\", \"tags\", \"id\"): assert m.get(k) == g.get(k), (k, m.get(k), g.get(k))'"
check_fails "writes are refused" "Read-only file system" bash -c "echo x >'$MNT/new'"
check "ls -l all" ls -lR "$MNT"
umount_store "$MNT"
umount_store "$WORK/ref"
for i in $(seq 1 100); do [ -z "$(ls -A "$XDG_RUNTIME_DIR")" ] && break; sleep 0.05; done
check "the private copy's directory is removed at unmount" test -z "$(ls -A "$XDG_RUNTIME_DIR")"
check "the DAM directory is byte-identical, no new entries" test "$before" = "$(snapshot)"
