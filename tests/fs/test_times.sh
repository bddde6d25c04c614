# POSIX times through the mount: a directory's mtime and ctime change when an entry is
# added or removed (mkdir, create, unlink, rmdir, rename: both parents), a file's ctime
# on chmod, chown, utimens, setxattr/removexattr, truncate, ftruncate on an open fd and
# rename; and `stat` is never stale: right after the change, not after attr_timeout.
# Times are compared to the nanosecond, so short sleeps suffice.
. "$(dirname "$0")/lib.sh"

new_store "$STORE"
echo a >"$WORK/a.txt"
"$DOCFS" put "$STORE" "$WORK/a.txt" --id imp/a.txt >/dev/null  # imp/ is implicit
# attr_timeout=1 (the default, said here because the staleness check waits it out).
mount_store "$STORE" "$MNT" -o attr_timeout=1

# Nanosecond times as integers (seconds and nanoseconds fit in 64 bits until 2262).
mtime() { local t; t=$(stat -c %.9Y "$1") && echo "${t/./}"; }
ctime() { local t; t=$(stat -c %.9Z "$1") && echo "${t/./}"; }

# check_times DESC WHICH PATH COMMAND...: runs COMMAND; PATH's times named in WHICH
# ("m", "c" or "mc") must have moved forward, the others must not have changed ("c?":
# mtime is not checked, the command sets it).
check_times() {
  local desc=$1 which=$2 path=$3
  shift 3
  local m0 c0 m1 c1
  m0=$(mtime "$path")
  c0=$(ctime "$path")
  sleep 0.02
  "$@" >/dev/null || fail "$desc: $* failed"
  m1=$(mtime "$path")
  c1=$(ctime "$path")
  if [[ $which == *m* ]]; then
    ((m1 > m0)) || fail "$desc: mtime of $path did not change ($m0 -> $m1)"
  elif [[ $which != *\?* ]]; then
    ((m1 == m0)) || fail "$desc: mtime of $path changed ($m0 -> $m1)"
  fi
  if [[ $which == *c* ]]; then
    ((c1 > c0)) || fail "$desc: ctime of $path did not change ($c0 -> $c1)"
  else
    ((c1 == c0)) || fail "$desc: ctime of $path changed ($c0 -> $c1)"
  fi
  _CHECKS=$((_CHECKS + 1))
  echo "ok $_CHECKS - $desc"
}

# ---- a directory's times on namespace changes ----
check_times "mkdir: the mount root" mc "$MNT" mkdir "$MNT/d"
check_times "mkdir: an explicit directory" mc "$MNT/d" mkdir "$MNT/d/sub"
check_times "create (touch): the mount root" mc "$MNT" touch "$MNT/f"
check_times "create: an explicit directory" mc "$MNT/d" touch "$MNT/d/g"
check_times "create: an implicit directory" mc "$MNT/imp" touch "$MNT/imp/b.txt"
check_times "unlink: an implicit directory" mc "$MNT/imp" rm "$MNT/imp/a.txt"
check_times "unlink: an explicit directory" mc "$MNT/d" rm "$MNT/d/g"
check_times "rmdir: the parent" mc "$MNT/d" rmdir "$MNT/d/sub"
check_times "rename within a directory: the directory" mc "$MNT/imp" \
  mv "$MNT/imp/b.txt" "$MNT/imp/c.txt"
touch "$MNT/d/moving"
check_times "rename across directories: the source parent" mc "$MNT/d" \
  mv "$MNT/d/moving" "$MNT/imp/moving"
check_times "rename across directories: the target parent" mc "$MNT/d" \
  mv "$MNT/imp/moving" "$MNT/d/moving"
check_times "rename over an existing file: the parent" mc "$MNT/d" \
  mv "$MNT/imp/c.txt" "$MNT/d/moving"
check_times "listing a directory changes no time" "" "$MNT/d" ls "$MNT/d"

# utimens on a directory after namespace changes: the given mtime wins over the in-memory one.
check_times "utimens on a directory: ctime" "c?" "$MNT/d" touch -m -d @1000000000 "$MNT/d"
check "utimens on a directory: the given mtime" test "$(mtime "$MNT/d")" = 1000000000000000000

# ---- a file's ctime ----
echo content >"$MNT/f"
check_times "chmod: ctime only" c "$MNT/f" chmod 600 "$MNT/f"
check_times "chown: ctime only" c "$MNT/f" chown 1234:1234 "$MNT/f"
check_times "setfattr: ctime only" c "$MNT/f" setfattr -n user.tag.k -v v "$MNT/f"
check_times "setfattr -x: ctime only" c "$MNT/f" setfattr -x user.tag.k "$MNT/f"
check_times "truncate -s: mtime and ctime" mc "$MNT/f" truncate -s 3 "$MNT/f"
check_times "utimens -a: ctime only" c "$MNT/f" touch -a "$MNT/f"
check_times "utimens (touch -m): mtime and ctime" mc "$MNT/d/moving" touch -m "$MNT/d/moving"
check_times "utimens to the past: ctime" "c?" "$MNT/f" touch -m -d @1000000000 "$MNT/f"
check "utimens to the past: mtime" test "$(mtime "$MNT/f")" = 1000000000000000000
touch "$MNT/r1"
check_times "rename: the renamed file's ctime only" c "$MNT/r1" \
  sh -c 'mv "$0/r1" "$0/r2" && mv "$0/r2" "$0/r1"' "$MNT"
mkdir "$MNT/rd"
check_times "rename: a renamed directory's ctime" c "$MNT/rd" \
  sh -c 'mv "$0/rd" "$0/rd2" && mv "$0/rd2" "$0/rd"' "$MNT"

# ftruncate on an open descriptor: `stat` shows the new ctime before the close (which
# commits), and the close does not leave a stale cache. Perl's Time::HiRes::stat, so
# that no child process closes (and so flushes) an inherited descriptor in between.
# shellcheck disable=SC2016
ftruncate_pl='
  use Time::HiRes qw(stat sleep);
  my ($path, $c0) = @ARGV;
  open(my $fh, "+<", $path) or die "open: $!";
  sleep 0.02;
  truncate($fh, 100) or die "ftruncate: $!";
  my @a = stat($path);
  die "size before close: $a[7]\n" unless $a[7] == 100;
  die "ctime before close: $a[10] is not after $c0\n" unless $a[10] > $c0 / 1e9;
  close($fh) or die "close: $!";
  @a = stat($path);
  die "size after close: $a[7]\n" unless $a[7] == 100;
'
check "ftruncate: ctime before and after close" \
  perl -e "$ftruncate_pl" "$MNT/f" "$(ctime "$MNT/f")"

# A commit at close changes ctime (and mtime, size) after the last reply the kernel saw:
# `stat` right after the close must equal `stat` after attr_timeout expired.
# shellcheck disable=SC2016
commit_pl='
  use Time::HiRes qw(stat sleep);
  my $path = $ARGV[0];
  open(my $fh, ">>", $path) or die "open: $!";
  syswrite($fh, "more\n") or die "write: $!";
  my @staged = stat($path);  # caches the attributes before the commit
  sleep 0.02;
  close($fh) or die "close: $!";
  my @now = stat($path);
  sleep 1.3;  # attr_timeout=1
  my @fresh = stat($path);
  for my $i (7, 9, 10) {  # size, mtime, ctime
    die sprintf("field %d right after close %.9f, after attr_timeout %.9f\n", $i, $now[$i],
                $fresh[$i]) unless $now[$i] == $fresh[$i];
  }
'
check "a commit at close: stat is not stale" perl -e "$commit_pl" "$MNT/f"

# The same after an unmount and remount: the commits were recorded.
umount_store "$MNT"
mount_store "$STORE" "$MNT"
check "after remount: the file's size" test "$(stat -c %s "$MNT/f")" = 105
check "after remount: the stored mtime set by utimens" \
  test "$(mtime "$MNT/d")" = 1000000000000000000
