#!/usr/bin/env bash
# Installs docfs system-wide: dependencies, a release build, then `cmake --install`
# (docfs in PREFIX/bin, mount.docfs + mount.fuse.docfs in PREFIX/sbin, docfs(1), the
# systemd unit template docfs@.service). PREFIX defaults to /usr/local; mount(8) finds
# helpers in /sbin, so use PREFIX=/usr for `mount -t fuse.docfs` and fstab lines.
# For a .deb instead: cd build && cpack -G DEB
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${PREFIX:-/usr/local}
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$root/build-release" -j"$(nproc)"
cmake --install "$root/build-release"
if [[ $prefix != /usr && ! -e /sbin/mount.fuse.docfs ]]; then
  echo "note: for mount -t fuse.docfs / fstab, link the helper: ln -s $prefix/bin/docfs /sbin/mount.fuse.docfs"
fi
echo "installed: $("$prefix/bin/docfs" --version | head -1)"
