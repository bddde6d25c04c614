# Hard links: link(2) gives a file a second name (one inode, st_nlink counts names, a write
# through one name is read through the other, unlink of one keeps the other), through
# rename, online compaction and remount; cp -al, tar and rsync -aH of trees with hard
# links, and git.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote_lib.sh"

new_store "$STORE"
mount_store "$STORE" "$MNT" -o default_permissions,allow_other

ino() { stat -c %i "$1"; }
links() { stat -c %h "$1"; }
# One line per file of DIR: its inode's names, space-separated; the lines sorted. Two trees
# with the same hard-link structure print the same thing.
groups() {
  (cd "$1" && find . -type f -printf '%i %P\n') | sort -k2 |
    awk '{ names[$1] = names[$1] " " $2 } END { for (i in names) print names[i] }' | sort
}
# itemized differences with hard links (empty when equal); directory times aside
differences() { rsync -n -aiH --delete --no-owner --no-group "$1/" "$2/" | grep -v '^\.d\.\.t' || true; }

echo one >"$MNT/a"
check "ln" ln "$MNT/a" "$MNT/b"
check "both names have one inode number" test "$(ino "$MNT/a")" = "$(ino "$MNT/b")"
check "st_nlink counts both names" test "$(links "$MNT/a")" = 2
check "ls -l shows the link count" bash -c "ls -l '$MNT/b' | grep -q '^-rw-r--r-- 2 '"
echo "written through b" >"$MNT/b"
check "a write through one name is read through the other" test "$(cat "$MNT/a")" = "written through b"
exec 7>>"$MNT/a"
echo "appended through an open a" >&7
exec 7>&-
check "an append through an open descriptor of a is in b" test "$(tail -n 1 "$MNT/b")" = "appended through an open a"
check "chmod through one name is the other's" bash -c "chmod 600 '$MNT/a' && test \"\$(stat -c %a '$MNT/b')\" = 600"
check "an xattr set through one name is the other's" bash -c "setfattr -n user.tag.k -v v '$MNT/a' && test \"\$(getfattr --only-values -n user.tag.k '$MNT/b')\" = v"
mkdir "$MNT/sub"
check "ln into a subdirectory" ln "$MNT/b" "$MNT/sub/c"
check "three names" test "$(links "$MNT/sub/c")" = 3
check "rm of one name" rm "$MNT/a"
check "the others stay" test "$(cat "$MNT/sub/c" | head -n 1)" = "written through b"
check "the count drops" test "$(links "$MNT/b")" = 2
check "mv of one name" mv "$MNT/sub/c" "$MNT/sub/d"
check "the moved name keeps the inode" test "$(ino "$MNT/sub/d")" = "$(ino "$MNT/b")"
check "mv of a directory holding a name" mv "$MNT/sub" "$MNT/sub2"
check "the name moved with it" test "$(ino "$MNT/sub2/d")" = "$(ino "$MNT/b")"
# rename(2) itself (mv refuses two names of one file before asking the file system)
check "rename(2) of one name over another of the same file changes nothing (POSIX)" python3 -c 'import os,sys; os.rename(sys.argv[1], sys.argv[2])' "$MNT/b" "$MNT/sub2/d"
check "both are still there" test -e "$MNT/b" -a -e "$MNT/sub2/d"
echo other >"$MNT/other"
check "mv of a name over another file" mv "$MNT/sub2/d" "$MNT/other"
check "the replaced name is the link now" test "$(ino "$MNT/other")" = "$(ino "$MNT/b")"
# link(2) itself (ln refuses directories before asking the file system)
check_fails "link(2) of a directory: EPERM" "Operation not permitted" python3 -c 'import os,sys; os.link(sys.argv[1], sys.argv[2])' "$MNT/sub2" "$MNT/dirlink"
check_fails "ln over an existing name: EEXIST" "File exists" ln "$MNT/b" "$MNT/other"
ln -s b "$MNT/symlink"
check "a hard link to a symlink is a symlink" bash -c "ln -P '$MNT/symlink' '$MNT/symlink2' && test \"\$(readlink '$MNT/symlink2')\" = b"
mkfifo "$MNT/fifo"
check "a hard link to a FIFO" bash -c "ln '$MNT/fifo' '$MNT/fifo2' && test -p '$MNT/fifo2' && test \"\$(stat -c %h '$MNT/fifo')\" = 2"
# An unlinked name of a file open elsewhere: the last name keeps the data.
exec 8<"$MNT/other"
rm "$MNT/b"
check "the last name after rm of the other" test "$(head -n 1 "$MNT/other")" = "written through b"
exec 8<&-

# Trees with hard links: cp -al, tar, rsync -aH.
SRC=$WORK/src
mkdir -p "$SRC/x/y" "$SRC/z"
echo 1 >"$SRC/x/one"
ln "$SRC/x/one" "$SRC/x/y/one-again"
ln "$SRC/x/one" "$SRC/z/one-thrice"
echo 2 >"$SRC/two"
ln "$SRC/two" "$SRC/z/two-again"
echo alone >"$SRC/alone"
check "rsync -aH into the mount" rsync -aH "$SRC/" "$MNT/rsync/"
check "the hard-link structure arrived" test "$(groups "$SRC")" = "$(groups "$MNT/rsync")"
check "rsync -n -aiH shows no difference" test -z "$(differences "$SRC" "$MNT/rsync")"
check "cp -al inside the mount" cp -al "$MNT/rsync" "$MNT/cp-al"
check "cp -al made links, not copies" test "$(ino "$MNT/cp-al/alone")" = "$(ino "$MNT/rsync/alone")"
check "six names of one file" test "$(links "$MNT/cp-al/x/one")" = 6
mkdir "$MNT/tar"
check "tar -x of an archive with hard links" bash -c "tar -C '$SRC' -cf - . | tar -C '$MNT/tar' -xf -"
check "tar kept the hard-link structure (stat -c %i)" test "$(groups "$SRC")" = "$(groups "$MNT/tar")"
check "tar -c out of the mount stores links" bash -c "tar -C '$MNT/tar' -cvvf - . 2>/dev/null | tar -tvvf - | grep -q 'link to'"

# git: a local clone, commits, gc (which renames and links object files), fsck.
REPO=$WORK/repo
git init -q "$REPO"
for i in 1 2 3; do
  echo "line $i" >>"$REPO/file"
  git -C "$REPO" -c user.name=t -c user.email=t@t add file
  git -C "$REPO" -c user.name=t -c user.email=t@t commit -q -m "commit $i"
done
check "git clone into the mount" git clone -q "$REPO" "$MNT/clone"
check "git commit in the mount" bash -c "cd '$MNT/clone' && echo more >>file && git -c user.name=t -c user.email=t@t commit -qam more"
check "git gc in the mount" git -C "$MNT/clone" gc -q
check "git fsck in the mount" git -C "$MNT/clone" fsck --strict

# Online compaction keeps the names together.
before_groups=$(groups "$MNT/rsync")
check "docfs prune on the mounted store" "$DOCFS" prune "$STORE"
check "after compaction: same structure" test "$(groups "$MNT/rsync")" = "$before_groups"
echo "after prune" >"$MNT/rsync/x/one"
check "after compaction: a write reaches every name" test "$(cat "$MNT/cp-al/z/one-thrice")" = "after prune"

umount_store "$MNT"
check "fsck" "$DOCFS" fsck "$STORE"
mount_store "$STORE" "$MNT"
check "after remount: same structure (rsync)" test "$(groups "$MNT/rsync")" = "$before_groups"
check "after remount: same structure (tar)" test "$(groups "$SRC")" = "$(groups "$MNT/tar")"
check "after remount: link counts" test "$(links "$MNT/cp-al/x/one")" = 6
check "after remount: content through every name" test "$(cat "$MNT/tar/z/one-thrice")" = 1
check "after remount: git fsck" git -C "$MNT/clone" fsck --strict
check "after remount: a hard link to a FIFO" test "$(ino "$MNT/fifo")" = "$(ino "$MNT/fifo2")"
umount_store "$MNT"
check "docfs prune offline" "$DOCFS" prune "$STORE"
check "fsck after prune" "$DOCFS" fsck "$STORE"
mount_store "$STORE" "$MNT" -o ro
check "after offline prune: same structure" test "$(groups "$SRC")" = "$(groups "$MNT/tar")"
check "after offline prune: rsync -n -aiH shows no difference" test -z "$(differences "$SRC" "$MNT/rsync" | grep -v one)"
umount_store "$MNT"

# ---- push/pull and .remote/ (a file:// remote)
REMOTE=file://$WORK/remote
mkdir -p "$WORK/remote"
export DOCFS_REMOTE=$REMOTE
check "push" "$DOCFS" push "$STORE" links
check "pull" "$DOCFS" pull links "$WORK/pulled"
check "fsck of the pulled store" "$DOCFS" fsck "$WORK/pulled"
mount_store "$WORK/pulled" "$MNT" -o ro
check "push/pull keeps the hard-link structure" test "$(groups "$SRC")" = "$(groups "$MNT/tar")"
check "and the link counts" test "$(links "$MNT/cp-al/x/one")" = 6
umount_store "$MNT"

new_store "$WORK/B"
mount_store "$WORK/B" "$MNT" -o "remote=$REMOTE,remote_ttl=0,push_delay=1"
K=$MNT/.remote/links
check ".remote/KEY shows the hard-link structure" test "$(groups "$SRC")" = "$(groups "$K/tar")"
echo "through the key" >"$K/tar/x/one"
check "a write under .remote/ reaches every name of the file" test "$(cat "$K/tar/z/one-thrice")" = "through the key"
check "ln inside a key" ln "$K/tar/two" "$K/tar/two-more"
check "one inode under the key" test "$(ino "$K/tar/two-more")" = "$(ino "$K/tar/z/two-again")"
echo root >"$MNT/rootfile"
check_fails "ln from a key to the mount root: EXDEV" "cross-device" ln "$K/tar/alone" "$MNT/from-key"
check_fails "ln from the mount root into a key: EXDEV" "cross-device" ln "$MNT/rootfile" "$K/from-root"
mkdir "$MNT/.remote/other"
check_fails "ln across two keys: EXDEV" "cross-device" ln "$K/tar/alone" "$MNT/.remote/other/across"
check "fsync under the key pushes it" python3 -c 'import os,sys; os.fsync(os.open(sys.argv[1], os.O_RDONLY))' "$K/tar/two-more"
umount_store "$MNT"
check "pull the key again" "$DOCFS" pull links "$WORK/pulled2"
mount_store "$WORK/pulled2" "$MNT" -o ro
check "the link made under .remote/ was pushed" test "$(ino "$MNT/tar/two-more")" = "$(ino "$MNT/tar/two")"
check "three names now" test "$(links "$MNT/tar/two")" = 3
check "the write under .remote/ was pushed to every name" test "$(cat "$MNT/tar/x/y/one-again")" = "through the key"
umount_store "$MNT"
