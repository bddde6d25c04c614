#!/usr/bin/env bash
# .remote/ with a file:// remote: two mounts of two stores sharing one remote directory.
# Write on one, read on the other; fsync pushes; cp -r of 2,000 files is one push;
# unmount flushes a pending push; invalid keys; rmdir deletes a key; the main store's
# fsck and prune ignore the cache.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote_lib.sh"

REMOTE=file://$WORK/remote
mkdir -p "$WORK/remote"
new_store "$WORK/A"
new_store "$WORK/B"
MA=$WORK/ma
MB=$WORK/mb
mount_store "$WORK/A" "$MA" -o "remote=$REMOTE,remote_ttl=0,push_delay=1"
mount_store "$WORK/B" "$MB" --remote "$REMOTE" -o remote_ttl=0,push_delay=1

# ---- the folder
check ".remote is a directory" test -d "$MA/.remote"
check ".remote is not listed at the root" bash -c "! ls -a '$MA' | grep -q remote"
check "an empty remote lists no keys" test -z "$(ls "$MA/.remote")"
check_fails "a file directly in .remote/" "Operation not permitted" touch "$MA/.remote/file"
check_fails "a key name with a space" "Invalid argument" mkdir "$MA/.remote/bad key"
check_fails "a key name with @" "Invalid argument" mkdir "$MA/.remote/a@b"
check_fails "a missing key" "No such file" ls "$MA/.remote/nope"

# ---- write on A, read on B
check "mkdir creates a key" mkdir "$MA/.remote/k"
check "a new key is 'new'" test "$(key_status "$MA/.remote/k")" = new
check "and not on the remote yet" test ! -e "$WORK/remote/k"
echo hello >"$MA/.remote/k/hello.txt"
mkdir -p "$MA/.remote/k/sub/deeper"
random_file "$WORK/big.bin" 3000000
cp "$WORK/big.bin" "$MA/.remote/k/sub/deeper/big.bin"
setfattr -n user.tag.color -v red "$MA/.remote/k/hello.txt"
check "writes make the key dirty" wait_status "$MA/.remote/k" "dirty|pushing|clean" 1
check "pushed after push_delay" wait_status "$MA/.remote/k" clean 15
check "exactly one push" test "$(key_pushes "$MA/.remote/k")" = 1
check "the object exists" test -s "$WORK/remote/k"
check "B lists the key" bash -c "ls '$MB/.remote' | grep -qx k"
check "B reads the file" test "$(cat "$MB/.remote/k/hello.txt")" = hello
check "B reads the nested big file" cmp "$MB/.remote/k/sub/deeper/big.bin" "$WORK/big.bin"
check "B sees sizes" test "$(stat -c %s "$MB/.remote/k/sub/deeper/big.bin")" = 3000000
check "B sees the xattr" test "$(getfattr --absolute-names --only-values -n user.tag.color "$MB/.remote/k/hello.txt")" = red
check "B's copy is clean" test "$(key_status "$MB/.remote/k")" = clean
check "the cache is a store under B" test -f "$WORK/B/remote-cache/k/state"

# ---- fsync: the push is done when fsync returns
python3 -c "
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b'synced on B\n')
os.fsync(fd)
os.close(fd)" "$MB/.remote/k/synced.txt"
check "after fsync the remote has the file" remote_has_doc "$REMOTE" k synced.txt
check "B pushed once" test "$(key_pushes "$MB/.remote/k")" = 1
check "A revalidates and sees B's file" test "$(cat "$MA/.remote/k/synced.txt")" = "synced on B"
check "A still has its own files" cmp "$MA/.remote/k/sub/deeper/big.bin" "$WORK/big.bin"

# ---- rm and mv under a key are pushed too
rm "$MA/.remote/k/hello.txt"
mv "$MA/.remote/k/synced.txt" "$MA/.remote/k/sub/moved.txt"
check "rm + mv pushed" wait_status "$MA/.remote/k" clean 15
sleep 0.2
check "B sees the rm" bash -c "! ls '$MB/.remote/k' | grep -q hello.txt"
check "B sees the mv" test "$(cat "$MB/.remote/k/sub/moved.txt")" = "synced on B"
check_fails "mv between the mount and a key is cross-device for rename(2)" "" \
  python3 -c "import os,sys; os.rename(sys.argv[1], sys.argv[2])" "$MA/.remote/k/sub/moved.txt" "$MA/moved.txt"

# ---- cp -r of 2,000 files ends in one push
make_tree "$WORK/tree" 2000 100
check "mkdir key many" mkdir "$MA/.remote/many"
check "cp -r 2,000 files" cp -r "$WORK/tree/." "$MA/.remote/many/"
check "pushed" wait_status "$MA/.remote/many" clean 30
check "2,000 files in one push" test "$(key_pushes "$MA/.remote/many")" = 1
check "B sees all 2,000" test "$(find "$MB/.remote/many" -type f | wc -l)" = 2000
check "B's tree equals the source" diff -r "$WORK/tree" "$MB/.remote/many"

# ---- rmdir
check_fails "rmdir of a non-empty key" "not empty" rmdir "$MB/.remote/many"
rm -r "$MB/.remote/many/"*
check "rmdir of the emptied key" rmdir "$MB/.remote/many"
check "the object is gone" test ! -e "$WORK/remote/many"
check "B no longer lists it" bash -c "! ls '$MB/.remote' | grep -qx many"
check "A no longer lists it" bash -c "! ls '$MA/.remote' | grep -qx many"
check "rmdir of a never-pushed key" bash -c "mkdir '$MA/.remote/tmpkey' && rmdir '$MA/.remote/tmpkey'"
check_fails "a key cannot be renamed" "" mv -T "$MA/.remote/k" "$MA/.remote/k2"

# ---- unmount flushes a pending push (push_delay far away)
umount_store "$MB"
mount_store "$WORK/B" "$MB" --remote "$REMOTE" -o remote_ttl=0,push_delay=600
check "B's cache survived the remount" test "$(cat "$MB/.remote/k/sub/moved.txt")" = "synced on B"
echo pending >"$MB/.remote/k/pending.txt"
check "the change is pending" test "$(key_status "$MB/.remote/k")" = dirty
check "not on the remote yet" remote_lacks_doc "$REMOTE" k pending.txt
umount_store "$MB"
check "unmount pushed it" remote_has_doc "$REMOTE" k pending.txt

# ---- the main store is untouched by the cache
check "fsck of B ignores remote-cache" "$DOCFS" fsck "$WORK/B"
check "prune of B keeps the cache" bash -c "'$DOCFS' prune '$WORK/B' >/dev/null && test -f '$WORK/B/remote-cache/k/state'"
check "B's store has no .remote documents" bash -c "! '$DOCFS' ls '$WORK/B' | grep -q remote"
