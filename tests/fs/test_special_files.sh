# Symbolic links, FIFOs, sockets and device nodes in real trees: rsync -a, tar, cp -a into
# the root, readlink, ELOOP, the CLI, JSON export/import and push/pull keep them.
. "$(dirname "$0")/lib.sh"

new_store "$STORE"
mount_store "$STORE" "$MNT" -o default_permissions,allow_other

SRC=$WORK/src
mkdir -p "$SRC/dir/sub"
echo content >"$SRC/dir/file.txt"
ln -s ../file.txt "$SRC/dir/sub/relative"
ln -s /etc/hostname "$SRC/absolute"
ln -s does/not/exist "$SRC/dangling"
ln -s dir "$SRC/to-a-directory"
ln -s "$(head -c 3000 /dev/zero | tr '\0' 'x')" "$SRC/long-target"
mkfifo "$SRC/fifo"
mknod "$SRC/null-device" c 1 3
mknod "$SRC/block-device" b 7 200
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$SRC/socket"
touch -h -d 2001-02-03 "$SRC/absolute"

# itemized differences between two trees (empty when equal): types, targets, modes, times
differences() { rsync -n -ai --delete --no-owner --no-group "$1/" "$2/" | grep -v '^\.d\.\.t' || true; }
# the same, without times (DocArray JSON has no file times: import dates documents now)
differences_but_times() { rsync -n -ai -c --no-times --delete --no-owner --no-group "$1/" "$2/" || true; }

check "rsync -a of a tree with symlinks, a FIFO, a socket and devices" rsync -a "$SRC/" "$MNT/rsync/"
check "rsync -n -ai shows no difference" test -z "$(differences "$SRC" "$MNT/rsync")"
check "readlink gives the target byte for byte" test "$(readlink "$MNT/rsync/dir/sub/relative")" = ../file.txt
check "a relative symlink resolves inside the mount" test "$(cat "$MNT/rsync/dir/sub/relative")" = content
check "a 3000-byte target" test "$(readlink "$MNT/rsync/long-target" | wc -c)" = 3001
check "a dangling symlink exists as a link" test -L "$MNT/rsync/dangling"
check "lstat size is the target length" test "$(stat -c %s "$MNT/rsync/dangling")" = 14
check "a link to a directory lists it" test "$(ls "$MNT/rsync/to-a-directory/")" = "$(ls "$SRC/dir/")"
check "a FIFO" test -p "$MNT/rsync/fifo"
check "a socket" test -S "$MNT/rsync/socket"
check "a character device with its rdev" test "$(stat -c '%F %t:%T' "$MNT/rsync/null-device")" = "character special file 1:3"
check "a block device with its rdev" test "$(stat -c '%F %t:%T' "$MNT/rsync/block-device")" = "block special file 7:c8"
check "utimensat(AT_SYMLINK_NOFOLLOW) kept the link's own time" test "$(stat -c %Y "$MNT/rsync/absolute")" = "$(stat -c %Y "$SRC/absolute")"
check "lchown" chown -h 1234:5678 "$MNT/rsync/absolute"
check "lchown is the link's" test "$(stat -c %u:%g "$MNT/rsync/absolute")" = 1234:5678
check "the FIFO works as a pipe" bash -c "(echo through > '$MNT/rsync/fifo' &) ; test \"\$(cat '$MNT/rsync/fifo')\" = through"
ln -s loop-b "$MNT/loop-a"
ln -s loop-a "$MNT/loop-b"
check_fails "a symlink loop: ELOOP" "Too many levels of symbolic links" cat "$MNT/loop-a"
check "rename of a symlink" mv "$MNT/loop-a" "$MNT/loop-c"
check "the renamed link keeps its target" test "$(readlink "$MNT/loop-c")" = loop-b
check "unlink of a symlink" rm "$MNT/loop-b" "$MNT/loop-c"
check "a hard link (tests/fs/test_hard_links.sh has the rest)" bash -c "ln '$MNT/rsync/dir/file.txt' '$MNT/hard' && test \"\$(stat -c %h '$MNT/hard')\" = 2 && rm '$MNT/hard'"

check "tar -x of the same tree" bash -c "tar -C '$SRC' -cf - . | tar -C '$MNT' --one-file-system -xf - --one-top-level=tar"
check "tar tree equals the source (tar skips sockets)" test -z "$(differences "$SRC" "$MNT/tar" | grep -v socket)"

# cp -a into the mount root (the README's own tour) preserves the root's times and mode.
touch -d 2002-03-04 "$SRC"
check "cp -a SRC/. MNT/ exits 0" cp -a "$SRC/." "$MNT/"
check "the root took the source's mtime" test "$(stat -c %Y "$MNT")" = "$(stat -c %Y "$SRC")"
check "chmod of the root" chmod 0750 "$MNT"
check "the root shows its new mode" test "$(stat -c %a "$MNT")" = 750

echo hi >"$MNT/created.txt"
check "a file created through the mount gets a guessed mime type" test "$(getfattr --only-values -n user.mime_type "$MNT/created.txt")" = text/plain
check "rsync (a temporary name, then a rename) too" test "$(getfattr --only-values -n user.mime_type "$MNT/rsync/dir/file.txt")" = text/plain

umount_store "$MNT"
check "fsck" "$DOCFS" fsck "$STORE"
check "docfs ls -l shows a symlink with its target" bash -c "'$DOCFS' ls -l '$STORE' | grep -q 'lrwxrwxrwx.*rsync/dangling -> does/not/exist'"
check "docfs ls -l shows the FIFO's type" bash -c "'$DOCFS' ls -l '$STORE' | grep -q '^prw-r--r--.*rsync/fifo'"
check "docfs get prints a symlink's target" test "$("$DOCFS" get "$STORE" rsync/absolute)" = /etc/hostname

mount_store "$STORE" "$MNT"
check "after a remount: no difference" test -z "$(differences "$SRC" "$MNT/rsync")"
umount_store "$MNT"

# Through DocArray JSON (file types travel in two tags) and through push/pull.
check "export to JSON" "$DOCFS" export "$STORE" -o "$WORK/all.json"
new_store "$WORK/imported"
check "import the JSON" "$DOCFS" import "$WORK/imported" "$WORK/all.json"
mount_store "$WORK/imported" "$MNT"
check "JSON round trip keeps links, FIFOs, sockets and devices" test -z "$(differences_but_times "$SRC" "$MNT/rsync")"
umount_store "$MNT"
export DOCFS_REMOTE=file://$WORK/remote
check "push" "$DOCFS" push "$STORE" special
check "pull" "$DOCFS" pull special "$WORK/pulled"
mount_store "$WORK/pulled" "$MNT" -o ro
check "push/pull keeps links, FIFOs, sockets and devices" test -z "$(differences "$SRC" "$MNT/rsync")"
umount_store "$MNT"
