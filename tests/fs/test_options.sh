# Mount options and the mount(8) helper.
. "$(dirname "$0")/lib.sh"

new_store "$STORE"
echo hi >"$WORK/hi"
"$DOCFS" put "$STORE" "$WORK/hi" --id dir/hi >/dev/null

mount_store "$STORE" "$MNT" -o ro
check "ro: reads work" test "$(cat "$MNT/dir/hi")" = hi
check_fails "ro: writes refused" "Read-only" touch "$MNT/new"
check "ro: a CLI writer may run (read-only open takes no lock)" test -n "$("$DOCFS" ls "$STORE")"
umount_store "$MNT"

mount_store "$STORE" "$MNT" -o uid=1234,gid=4321,umask=027,attr_timeout=0,entry_timeout=0,fsname=mydocs
check "uid= / gid= shown" test "$(stat -c %u:%g "$MNT/dir/hi")" = 1234:4321
check "umask= applied" test "$(stat -c %a "$MNT/dir/hi")" = 640
check "fsname= shown by mount" grep -q "^mydocs $MNT fuse.docfs" /proc/mounts
fusermount3 -u "$MNT"
for i in $(seq 1 100); do "$DOCFS" mount "$STORE" "$MNT" 2>/dev/null && break; sleep 0.05; done
check "remount after fusermount3 -u" is_mounted "$MNT"
umount_store "$MNT"

check "mount.docfs helper exists next to docfs" test -L "$DOCFS_BUILD_DIR/mount.docfs"
check "mount.docfs STORE DIR -o OPTS" "$DOCFS_BUILD_DIR/mount.docfs" "$STORE" "$MNT" -o rw,nosuid,nodev,defaults
check "helper mount works" test "$(cat "$MNT/dir/hi")" = hi
umount_store "$MNT"
check "mount.fuse.docfs (mount -t fuse.docfs)" "$DOCFS_BUILD_DIR/mount.fuse.docfs" "$STORE" "$MNT" -o allow_other,default_permissions
check "allow_other in effect" grep -q "allow_other" <(grep " $MNT " /proc/mounts)
umount_store "$MNT"

check_fails "bad option refused" "bad mount option" "$DOCFS" mount "$STORE" "$MNT" -o uid=abc
check_fails "missing store refused" "" "$DOCFS" mount "$WORK/nostore" "$MNT"
check_fails "missing mount point refused" "" "$DOCFS" mount "$STORE" "$WORK/nomnt"
check "nothing left mounted" bash -c "! grep -q ' $MNT fuse' /proc/mounts"

# SIGTERM: flushes, unmounts, releases the lock
mount_fg "$STORE" "$MNT"
echo term >"$MNT/t"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || true
check "SIGTERM unmounted" bash -c "! grep -q ' $MNT fuse' /proc/mounts"
check "written before SIGTERM is stored" test "$("$DOCFS" get "$STORE" t)" = term
