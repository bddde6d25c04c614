#!/usr/bin/env bash
# Kernel caches with the default (long) attr_timeout / entry_timeout: another process sees
# every change made through the mount at once — names, sizes, modes, times, xattrs,
# directory listings and file content — and an online compaction (`docfs prune` asking
# the mount) leaves stat and reads correct. Each observation runs in its own process
# after the observer has already cached the old state (so a stale cache would show).
. "$(dirname "$0")/lib.sh"

new_store "$STORE"
mount_store "$STORE" "$MNT"  # default timeouts
M=$MNT

# obs CMD...: run in a separate process; prints its output.
obs() { bash -c "$*" 2>/dev/null; }
# expect DESC EXPECTED CMD...: the observer's output must equal EXPECTED.
expect() {
  local desc=$1 want=$2
  shift 2
  local got
  got=$(obs "$@") || got="<failed: $(obs "$@" 2>&1)>"
  [ "$got" = "$want" ] || fail "$desc: expected '$want', got '$got'"
  _CHECKS=$((_CHECKS + 1))
  echo "ok $_CHECKS - $desc"
}
gone() { ! obs "stat '$1'" >/dev/null; }

# --- create, write + close, append, truncate ---
check "no file yet (negative entry cached)" gone "$M/a"
obs "ls '$M'" >/dev/null
printf 'hello' >"$M/a"
expect "create: size seen at once" 5 "stat -c %s '$M/a'"
expect "create: listed at once" a "ls '$M'"
expect "create: content" hello "cat '$M/a'"
printf 'hello world, longer' >"$M/a"
expect "overwrite + close: size" 19 "stat -c %s '$M/a'"
expect "overwrite + close: content (no stale pages)" "hello world, longer" "cat '$M/a'"
printf '!' >>"$M/a"
expect "append: size" 20 "stat -c %s '$M/a'"
expect "append: content" "hello world, longer!" "cat '$M/a'"
exec 3>>"$M/a"
printf 'more' >&3
exec 3>&-
expect "write through a held descriptor, then close: size" 24 "stat -c %s '$M/a'"
python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_WRONLY); os.pwrite(fd, b"HELLO", 0); os.close(fd)' "$M/a"
expect "in-place pwrite + close: content" "HELLO world, longer!more" "cat '$M/a'"
m1=$(obs "stat -c %y '$M/a'")
sleep 0.05
truncate -s 3 "$M/a"
expect "truncate: size" 3 "stat -c %s '$M/a'"
expect "truncate: content" HEL "cat '$M/a'"
[ "$(obs "stat -c %y '$M/a'")" != "$m1" ] || fail "truncate: mtime unchanged"
truncate -s 10000 "$M/a"
expect "growing truncate: size" 10000 "stat -c %s '$M/a'"

# --- chmod, touch, setfattr ---
chmod 640 "$M/a"
expect "chmod: mode" 640 "stat -c %a '$M/a'"
touch -d '2001-02-03 04:05:06' "$M/a"
expect "touch -d: mtime" 981173106 "stat -c %Y '$M/a'"
c1=$(obs "stat -c %z '$M/a'")
sleep 0.05
setfattr -n user.tag.color -v blue "$M/a"
expect "setfattr: value" blue "getfattr --only-values -n user.tag.color '$M/a'"
[ "$(obs "stat -c %z '$M/a'")" != "$c1" ] || fail "setfattr: ctime unchanged"
_CHECKS=$((_CHECKS + 1)); echo "ok $_CHECKS - setfattr: ctime seen at once"
setfattr -x user.tag.color "$M/a"
check "removexattr seen" bash -c "! getfattr -n user.tag.color '$M/a' 2>/dev/null"
check "no per-file ACL/security request needed: EOPNOTSUPP" \
  bash -c "getfattr -n security.selinux '$M/a' 2>&1 | grep -q 'not supported'"
expect "listxattr still lists user.* names" user.tag.docfs "setfattr -n user.tag.docfs -v 1 '$M/a' && getfattr --absolute-names -d -m - '$M/a' | sed -n 's/=.*//p'"

# --- rm, mv of files (also over an existing file) ---
printf 'b' >"$M/b"
obs "cat '$M/b'; stat '$M/b'" >/dev/null
rm "$M/b"
check "rm: gone at once" gone "$M/b"
expect "rm: not listed" a "ls '$M'"
printf 'one' >"$M/c"
printf 'two, longer' >"$M/d"
obs "cat '$M/c' '$M/d'" >/dev/null
mv "$M/c" "$M/e"
check "mv: old name gone" gone "$M/c"
expect "mv: new name" one "cat '$M/e'"
mv "$M/e" "$M/d"
expect "mv over a file: content" one "cat '$M/d'"
expect "mv over a file: size" 3 "stat -c %s '$M/d'"
expect "mv over a file: listing" "a d" "ls '$M' | tr '\n' ' ' | sed 's/ \$//'"

# --- directories: mkdir, listing, mv, rmdir ---
mkdir -p "$M/dir/sub"
for i in 1 2 3; do printf "f$i" >"$M/dir/sub/f$i"; done
expect "mkdir + create: listing" "f1 f2 f3" "ls '$M/dir/sub' | tr '\n' ' ' | sed 's/ \$//'"
obs "ls -lR '$M/dir'; cat '$M'/dir/sub/*" >/dev/null
printf 'f4' >"$M/dir/sub/f4"
expect "listing after another create (no stale cached listing)" "f1 f2 f3 f4" "ls '$M/dir/sub' | tr '\n' ' ' | sed 's/ \$//'"
rm "$M/dir/sub/f2"
expect "listing after rm" "f1 f3 f4" "ls '$M/dir/sub' | tr '\n' ' ' | sed 's/ \$//'"
mv "$M/dir" "$M/moved"
check "mv dir: old name gone" gone "$M/dir"
check "mv dir: old file path gone" gone "$M/dir/sub/f1"
expect "mv dir: files below at the new name" "f1f3f4" "cat '$M/moved/sub/f1' '$M/moved/sub/f3' '$M/moved/sub/f4'"
expect "mv dir: sizes below" "2 2 2" "stat -c %s '$M'/moved/sub/f* | tr '\n' ' ' | sed 's/ \$//'"
printf 'new' >"$M/moved/sub/f1"
expect "write after the dir rename" new "cat '$M/moved/sub/f1'"
mkdir "$M/dir"
expect "old dir name reused, empty" "" "ls '$M/dir'"
mv "$M/moved/sub" "$M/dir/sub2"
expect "mv subdir into another dir" "f1 f3 f4" "ls '$M/dir/sub2' | tr '\n' ' ' | sed 's/ \$//'"
check "mv subdir: gone from the old parent" gone "$M/moved/sub"
rm -r "$M/dir/sub2"
rmdir "$M/dir"
check "rm -r + rmdir: gone" gone "$M/dir"
expect "root listing" "a d moved" "ls '$M' | tr '\n' ' ' | sed 's/ \$//'"

# --- online compaction asked by docfs prune: stat and reads stay right ---
mkdir "$M/many"
for i in $(seq 1 50); do random_file "$M/many/f$i" $((1000 + i * 97)); done
for i in $(seq 1 50); do cp "$M/many/f$i" "$WORK/f$i"; done
for i in $(seq 1 10); do random_file "$M/junk" 400000; done  # garbage
rm "$M/junk"
obs "ls -l '$M/many'; cat '$M'/many/* >/dev/null"
body() { stat -c %s "$STORE/body.bin"; }
before=$(body)
check "docfs prune asks the mount" "$DOCFS" prune "$STORE"
for i in $(seq 1 100); do [ "$(body)" -lt "$before" ] && break; sleep 0.1; done
check "the mount compacted" test "$(body)" -lt "$before"
sleep 0.2
bad=0
for i in $(seq 1 50); do
  f=$M/many/f$i
  [ "$(obs "stat -c %s '$f'")" = "$(stat -c %s "$WORK/f$i")" ] || bad=$((bad + 1))
  obs "cmp -s '$f' '$WORK/f$i'" || bad=$((bad + 1))  # from the page cache
  dd if="$f" iflag=nocache count=0 status=none       # drop its pages: read from the store
  obs "cmp -s '$f' '$WORK/f$i'" || bad=$((bad + 1))
done
check "after compaction: 50 files, sizes and contents right (cached and re-read)" test "$bad" = 0
printf 'post' >"$M/many/f1"
expect "write after compaction" post "cat '$M/many/f1'"
check "rm after compaction" rm "$M/many/f2"
check "rm after compaction: gone" gone "$M/many/f2"

umount_store "$M"
check "fsck" "$DOCFS" fsck "$STORE"
