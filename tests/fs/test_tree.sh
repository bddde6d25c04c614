# Whole trees: cp -r, rsync -a in and out with diff -r, tar x into the mount, rm -r.
. "$(dirname "$0")/lib.sh"

new_store "$STORE"
mount_store "$STORE" "$MNT"

src=$WORK/src
mkdir -p "$src/a/b/c" "$src/empty" "$src/x"
for i in $(seq 1 40); do random_file "$src/a/f$i" $((i * 997)); done
for i in $(seq 1 20); do echo "text $i" >"$src/a/b/c/t$i.txt"; done
random_file "$src/x/big" $((3 * 1024 * 1024 + 17))  # spills past the in-RAM bound below
: >"$src/x/zero"
chmod 640 "$src/a/f1"
touch -d "2010-01-01 00:00:00" "$src/a/f2"

check "cp -r into the mount" cp -r "$src" "$MNT/cp"
check "diff -r after cp -r" diff -r "$src" "$MNT/cp"

check "rsync -a into the mount" rsync -a "$src/" "$MNT/rs/"
check "diff -r after rsync in" diff -r "$src" "$MNT/rs"
check "rsync kept modes" test "$(stat -c %a "$MNT/rs/a/f1")" = 640
check "rsync kept mtimes" test "$(stat -c %Y "$MNT/rs/a/f2")" = "$(stat -c %Y "$src/a/f2")"
echo changed >"$src/a/b/c/t1.txt"
rm "$src/a/f3"
check "rsync -a --delete update" rsync -a --delete "$src/" "$MNT/rs/"
check "diff -r after the update" diff -r "$src" "$MNT/rs"
check "rsync -a out of the mount" rsync -a "$MNT/rs/" "$WORK/out/"
check "diff -r after rsync out" diff -r "$src" "$WORK/out"

tar -C "$src" -cf "$WORK/t.tar" .
mkdir "$MNT/tar"
check "tar x into the mount" tar -C "$MNT/tar" -xf "$WORK/t.tar"
check "diff -r after tar x" diff -r "$src" "$MNT/tar"
check "tar kept mtimes" test "$(stat -c %Y "$MNT/tar/a/f2")" = "$(stat -c %Y "$src/a/f2")"

umount_store "$MNT"
mount_store "$STORE" "$MNT" -o stage_memory=1M
check "trees intact after remount (cp)" diff -r "$src" "$MNT/rs"
check "empty directory kept" test -d "$MNT/tar/empty"
check "big file through the spill file" bash -c "cat '$src/x/big' >'$MNT/big2' && cmp '$src/x/big' '$MNT/big2'"
check "rm -r of a tree" rm -r "$MNT/cp"
check "gone" test ! -e "$MNT/cp"
check "fsck" "$DOCFS" fsck "$STORE"
