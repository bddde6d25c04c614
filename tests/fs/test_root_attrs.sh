# The mount root's mode, owner, times and extended attributes live in the store (the
# directory marker .docfs-root): they survive remount, prune and push/pull, and the name
# is reserved.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote_lib.sh"

new_store "$STORE"
mount_store "$STORE" "$MNT" -o default_permissions,allow_other
check "a fresh root is 0755" test "$(stat -c %a "$MNT")" = 755
check "a fresh root has no attributes" test -z "$(getfattr --absolute-names -d "$MNT" 2>/dev/null)"
echo x >"$MNT/file"  # before the touch: namespace changes date the root in memory only
check "chmod of the root" chmod 0750 "$MNT"
check "chown of the root" chown 1234:5678 "$MNT"
check "utimens of the root" touch -m -d 2001-02-03T04:05:06 "$MNT"
check "setfattr on the root" setfattr -n user.tag.owner -v team "$MNT"
check "the name is not listed" bash -c "! ls -a '$MNT' | grep -q docfs-root"
check_fails "the name is reserved" "File exists" mkdir "$MNT/.docfs-root"
check_fails "and cannot be looked up" "No such file" stat "$MNT/.docfs-root"
mtime=$(stat -c %Y "$MNT")
check "the root keeps the touched mtime" test "$mtime" = "$(date -d 2001-02-03T04:05:06 +%s)"
umount_store "$MNT"
check "fsck" "$DOCFS" fsck "$STORE"

mount_store "$STORE" "$MNT"
check "after remount: the mode" test "$(stat -c %a "$MNT")" = 750
check "after remount: the owner" test "$(stat -c %u:%g "$MNT")" = 1234:5678
check "after remount: the mtime" test "$(stat -c %Y "$MNT")" = "$mtime"
check "after remount: the xattr" test "$(getfattr --absolute-names --only-values -n user.tag.owner "$MNT")" = team
check "removexattr on the root" setfattr -x user.tag.owner "$MNT"
check "chmod again" chmod 0700 "$MNT"
umount_store "$MNT"
check "prune" "$DOCFS" prune "$STORE"

mount_store "$STORE" "$MNT"
check "after prune: the mode" test "$(stat -c %a "$MNT")" = 700
check "after prune: the removed xattr stays removed" bash -c "! getfattr --absolute-names -n user.tag.owner '$MNT' 2>/dev/null"
check "the file is still there" test "$(cat "$MNT/file")" = x
umount_store "$MNT"

export DOCFS_REMOTE=file://$WORK/remote
mkdir -p "$WORK/remote"
check "push" "$DOCFS" push "$STORE" root
check "pull" "$DOCFS" pull root "$WORK/pulled"
mount_store "$WORK/pulled" "$MNT" -o ro
check "push/pull keeps the root's mode and owner" test "$(stat -c %a:%u:%g "$MNT")" = 700:1234:5678
check_fails "a read-only mount refuses chmod of the root" "Read-only" chmod 0755 "$MNT"
umount_store "$MNT"
