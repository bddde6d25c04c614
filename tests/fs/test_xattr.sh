# Document metadata as extended attributes: getfattr, setfattr, listxattr, removexattr.
. "$(dirname "$0")/lib.sh"

new_store "$STORE"
echo '{"x":1}' >"$WORK/doc.json"
"$DOCFS" put "$STORE" "$WORK/doc.json" --id doc.json --mime application/json \
  --uri https://example.com/doc --tag color=red >/dev/null
mount_store "$STORE" "$MNT"

f=$MNT/doc.json
check "mime_type from put" test "$(getfattr --absolute-names --only-values -n user.mime_type "$f")" = application/json
check "uri from put" test "$(getfattr --absolute-names --only-values -n user.uri "$f")" = https://example.com/doc
check "tag from put" test "$(getfattr --absolute-names --only-values -n user.tag.color "$f")" = red
check "listxattr" bash -c "getfattr --absolute-names -d '$f' | grep -q user.tag.color"
check "setfattr a tag" setfattr -n user.tag.size -v large "$f"
check "read it back" test "$(getfattr --absolute-names --only-values -n user.tag.size "$f")" = large
check "setfattr mime" setfattr -n user.mime_type -v text/plain "$f"
check "mime changed" test "$(getfattr --absolute-names --only-values -n user.mime_type "$f")" = text/plain
# embedding: three float32 LE values 1.0, 2.0, -0.5
printf '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x00\xbf' >"$WORK/emb"
check "set embedding bytes" setfattr -n user.embedding -v "0x$(xxd -p "$WORK/emb")" "$f"
check "embedding round trip" test "$(getfattr --absolute-names --only-values -n user.embedding "$f" | xxd -p)" = "$(xxd -p "$WORK/emb")"
check_fails "embedding of 5 bytes" "Invalid argument" setfattr -n user.embedding -v 0x0102030405 "$f"
check "removexattr" setfattr -x user.tag.color "$f"
check_fails "removed tag is gone" "No such attribute" getfattr --absolute-names -n user.tag.color "$f"
check_fails "unknown user attribute" "not supported" setfattr -n user.other -v 1 "$f"
check "content untouched by xattrs" cmp "$f" "$WORK/doc.json"
check "xattr on a mkdir'd directory" bash -c "mkdir '$MNT/d' && setfattr -n user.tag.k -v v '$MNT/d'"
check "xattrs survive a write" bash -c "echo more >>'$f' && test \"\$(getfattr --absolute-names --only-values -n user.tag.size '$f')\" = large"

umount_store "$MNT"
check "tags stored in the document" bash -c "'$DOCFS' stat '$STORE' doc.json | grep -q large"
mount_store "$STORE" "$MNT"
check "xattrs persist across remount" test "$(getfattr --absolute-names --only-values -n user.mime_type "$f")" = text/plain
check "embedding persists" test "$(getfattr --absolute-names --only-values -n user.embedding "$f" | xxd -p)" = "$(xxd -p "$WORK/emb")"
check "dir xattr persists" test "$(getfattr --absolute-names --only-values -n user.tag.k "$MNT/d")" = v
