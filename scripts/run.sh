#!/usr/bin/env bash
# scripts/run.sh STORE MOUNTPOINT [docfs mount options...]
# Installs what is missing, builds, creates STORE if needed and mounts it on MOUNTPOINT
# (remote: the default file:// directory). Unmount with: docfs umount MOUNTPOINT
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: scripts/run.sh STORE MOUNTPOINT [docfs mount options...]" >&2
  exit 2
fi
store=$1 mnt=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build"
docfs="$root/build/docfs"
[[ -f $store/header.bin ]] || "$docfs" init "$store"
mkdir -p "$mnt"
if "$docfs" help 2>/dev/null | grep -q '^  mount '; then
  "$docfs" mount "$store" "$mnt" "$@"
  echo "mounted $store on $mnt (unmount: $docfs umount $mnt)"
else
  "$docfs" ls "$store" -l
fi
