#!/usr/bin/env bash
# Packaging and the newcomer's path: the man page renders and names every subcommand,
# the .deb holds the binary, helpers, man page and systemd unit and its docfs runs, the
# unit passes systemd-analyze, and `mount -t fuse.docfs` (what fstab does) mounts a store.
set -euo pipefail
DOCFS=${DOCFS:?} SRC=${DOCFS_SOURCE_DIR:?} BUILD=${DOCFS_BUILD_DIR:?}
work=$(mktemp -d)
mnt=$work/mnt
made_helper=
cleanup() {
  fusermount3 -uz "$mnt" 2>/dev/null || true
  [[ -n $made_helper ]] && rm -f "$made_helper"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass=0
ok() { pass=$((pass + 1)); }

# 1. the man page renders without warnings and documents every subcommand
warnings=$(MANWIDTH=80 man --warnings -l "$SRC/docs/docfs.1" 2>&1 >/dev/null || true)
[[ -z $warnings ]] || fail "man page warnings: $warnings"
page=$(MANWIDTH=200 man -l "$SRC/docs/docfs.1" 2>/dev/null | col -b)
for cmd in $("$DOCFS" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1} /^$/{if(on)exit}'); do
  grep -qE "^ +$cmd( |$)" <<<"$page" || fail "man page does not document '$cmd'"
  "$DOCFS" "$cmd" --help >/dev/null || fail "$cmd --help failed"
done
ok

# 2. the .deb: contents, declared dependencies, and a docfs that runs from it
(cd "$work" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$work/pkg" >/dev/null) || fail "cpack"
deb=$(ls "$work"/pkg/*.deb | head -1)
contents=$(dpkg-deb --contents "$deb")
for path in ./usr/bin/docfs ./usr/sbin/mount.docfs ./usr/sbin/mount.fuse.docfs \
  ./usr/share/man/man1/docfs.1 ./usr/lib/systemd/system/docfs@.service; do
  grep -q " $path" <<<"$contents" || fail "$path missing from $(basename "$deb")"
done
dpkg-deb --field "$deb" Depends | grep -q fuse3 || fail "the .deb does not depend on fuse3"
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/bin/docfs" --version | grep -q '^docfs ' || fail "packaged docfs --version"
[[ $(readlink -f "$work/root/usr/sbin/mount.docfs") == "$work/root/usr/bin/docfs" ]] || fail "mount.docfs link"
ok

# 3. the systemd unit template
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$work/units"
  cp "$SRC/packaging/docfs@.service" "$work/units/docfs@test.service"
  # verify resolves ExecStart binaries: point them at this build
  sed -i "s#/usr/bin/docfs#$DOCFS#g" "$work/units/docfs@test.service"
  out=$(systemd-analyze verify --man=no "$work/units/docfs@test.service" 2>&1 || true)
  if grep -v -e 'EnvironmentFile' -e 'ConditionPathExists' -e '^$' <<<"$out" | grep -qi 'docfs@'; then
    fail "systemd-analyze verify: $out"
  fi
  ok
fi

# 4. mount -t fuse.docfs, as an fstab line does
"$DOCFS" init "$work/store" >/dev/null
printf 'hello\n' > "$work/hello.txt"
"$DOCFS" put "$work/store" "$work/hello.txt" >/dev/null
mkdir -p "$mnt"
helper=/sbin/mount.fuse.docfs
if [[ ! -e $helper && $(id -u) == 0 ]]; then
  ln -s "$DOCFS" "$helper"
  made_helper=$helper
fi
if [[ -e $helper ]]; then
  mount -t fuse.docfs "$work/store" "$mnt" -o defaults || fail "mount -t fuse.docfs"
  grep -q " $mnt fuse.docfs " /proc/mounts || fail "not in /proc/mounts as fuse.docfs"
  [[ $(cat "$mnt/hello.txt") == hello ]] || fail "content through mount -t"
  "$DOCFS" umount "$mnt" || fail "umount"
  ok
fi
echo "packaging: $pass groups of checks passed"
