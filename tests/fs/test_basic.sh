# ls, stat, cp, cat, cmp, mv, rm, mkdir/rmdir, truncate, dd, >>, errors, remount.
. "$(dirname "$0")/lib.sh"

new_store "$STORE"
echo "seed" >"$WORK/seed.txt"
"$DOCFS" put "$STORE" "$WORK/seed.txt" --id docs/seed.txt >/dev/null
mount_store "$STORE" "$MNT"

check "mounted" is_mounted "$MNT"
check "existing id shows as nested file" test "$(cat "$MNT/docs/seed.txt")" = seed
check "ls lists the directory" test "$(ls "$MNT")" = docs

random_file "$WORK/a.bin" 300000
check "cp into the mount" cp "$WORK/a.bin" "$MNT/a.bin"
check "cmp after cp" cmp "$WORK/a.bin" "$MNT/a.bin"
check "stat size" test "$(stat -c %s "$MNT/a.bin")" = 300000
check "stat type" test "$(stat -c %F "$MNT/a.bin")" = "regular file"
check "cat" cmp <(cat "$MNT/a.bin") "$WORK/a.bin"

echo one >"$MNT/x.txt"
echo two >"$MNT/y.txt"
check "mv renames" mv "$MNT/x.txt" "$MNT/z.txt"
check "old name gone after mv" test ! -e "$MNT/x.txt"
check "mv over an existing file" mv "$MNT/z.txt" "$MNT/y.txt"
check "target has the moved content" test "$(cat "$MNT/y.txt")" = one
check "source gone" test ! -e "$MNT/z.txt"
check "rm" rm "$MNT/y.txt"
check "rm'd file gone" test ! -e "$MNT/y.txt"

check "mkdir" mkdir "$MNT/empty"
check "mkdir -p nested" mkdir -p "$MNT/p/q/r"
check "stat dir" test -d "$MNT/p/q/r"
echo f >"$MNT/p/q/r/file"
check_fails "rmdir non-empty" "not empty" rmdir "$MNT/p/q/r"
check "mv a directory" mv "$MNT/p" "$MNT/p2"
check "file moved with its directory" test "$(cat "$MNT/p2/q/r/file")" = f
check "rm -r" rm -r "$MNT/p2"
check "rmdir empty dir" rmdir "$MNT/empty"
mkdir "$MNT/keep" "$MNT/implicit"
echo k >"$MNT/implicit/k"
rm "$MNT/implicit/k"  # the directory was implicit; it must survive a remount

# truncate, dd into the middle, appends
printf '0123456789' >"$MNT/t.txt"
check "truncate shrink" truncate -s 4 "$MNT/t.txt"
check "truncated content" test "$(cat "$MNT/t.txt")" = 0123
check "truncate grow" truncate -s 8 "$MNT/t.txt"
check "grown size" test "$(stat -c %s "$MNT/t.txt")" = 8
check "grown with zeros" cmp "$MNT/t.txt" <(printf '0123\0\0\0\0')
cp "$WORK/a.bin" "$MNT/d.bin"
cp "$WORK/a.bin" "$WORK/d.bin"
printf 'XXXXXXXX' >"$WORK/patch"
dd if="$WORK/patch" of="$MNT/d.bin" bs=1 seek=150000 conv=notrunc status=none
dd if="$WORK/patch" of="$WORK/d.bin" bs=1 seek=150000 conv=notrunc status=none
check "dd conv=notrunc into the middle" cmp "$MNT/d.bin" "$WORK/d.bin"
echo line1 >"$MNT/log.txt"
echo line2 >>"$MNT/log.txt"
echo line3 >>"$MNT/log.txt"
check ">> appends" test "$(cat "$MNT/log.txt")" = "$(printf 'line1\nline2\nline3')"
: >"$MNT/log2.txt"
check "> truncates to empty" test "$(stat -c %s "$MNT/log2.txt")" = 0
check "chmod persists in the mount" chmod 600 "$MNT/log.txt"
check "mode shown" test "$(stat -c %a "$MNT/log.txt")" = 600
check "touch -d sets mtime" touch -d "2001-02-03 04:05:06" "$MNT/log.txt"
check "chown" chown 123:456 "$MNT/log.txt"

# errors
long=$(printf 'n%.0s' $(seq 1 256))
check_fails "name over 255 bytes" "too long" touch "$MNT/$long"
check "symlink" ln -s /etc/passwd "$MNT/link"
check_fails "hard link over an existing name" "File exists" ln "$MNT/log.txt" "$MNT/link"
mkdir -p "$WORK/mnt2"
check_fails "second mount refused" "locked" "$DOCFS" mount "$STORE" "$WORK/mnt2"
check "refused mount left nothing mounted" bash -c "! grep -q ' $WORK/mnt2 fuse' /proc/mounts"

# CLI readers alongside the mount
check "docfs ls works alongside" bash -c "'$DOCFS' ls '$STORE' | grep -q '^a.bin'"
check "docfs get works alongside" bash -c "'$DOCFS' get '$STORE' a.bin | cmp - '$WORK/a.bin'"
check "docfs fsck works alongside" "$DOCFS" fsck "$STORE"
check "statfs" stat -f "$MNT"

# remount and compare
(cd "$MNT" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$WORK/before.sum"
find "$MNT" | sort >"$WORK/before.list"
check "umount" umount_store "$MNT"
check "unmounted" bash -c "! grep -q ' $MNT fuse' /proc/mounts"
mount_store "$STORE" "$MNT"
(cd "$MNT" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$WORK/after.sum"
find "$MNT" | sort >"$WORK/after.list"
check "same contents after remount" diff "$WORK/before.sum" "$WORK/after.sum"
check "same tree after remount (incl. empty dirs)" diff "$WORK/before.list" "$WORK/after.list"
check "mkdir'd directory persisted" test -d "$MNT/keep"
check "emptied implicit directory persisted" test -d "$MNT/implicit"
check "mode persisted" test "$(stat -c %a "$MNT/log.txt")" = 600
check "owner persisted" test "$(stat -c %u:%g "$MNT/log.txt")" = 123:456
check "mtime persisted" test "$(stat -c %Y "$MNT/log.txt")" = "$(date -d '2001-02-03 04:05:06' +%s)"
check "fusermount3 -u unmounts" fusermount3 -u "$MNT"
check "fsck clean after unmount" "$DOCFS" fsck "$STORE"
