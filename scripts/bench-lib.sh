# Shared helpers of the mount benchmarks (bench-fs.sh, bench-writes.sh). Source it after
# setting W (the work directory); functions only, nothing runs at source time.
#
#   pt_build                      compiles libfuse's passthrough_ll example into $W
#   pt_mount SRC MNT              mounts it (foreground daemon in the background; PT_PID)
#   pt_umount MNT                 unmounts it and waits for the daemon
#   fsx_build                     prints the path of an fsx binary (xfstests' ltp/fsx.c)
# passthrough_ll runs with -o xattr unless BENCH_PT_XATTR is set empty: docfs answers
# extended attributes (ls -l asks two per file), so the peer must too; without it
# passthrough_ll answers ENOSYS once and the kernel stops asking.

PT_EXAMPLES=${PT_EXAMPLES:-/usr/share/doc/libfuse3-dev/examples}
BENCH_PT_XATTR=${BENCH_PT_XATTR-1}
PT_PID=

pt_build() {
  cc -O2 -Wall -o "$W/passthrough_ll" "$PT_EXAMPLES/passthrough_ll.c" -I"$PT_EXAMPLES" \
    $(pkg-config --cflags --libs fuse3)
}

pt_mount() {  # pt_mount SRC MNT
  mkdir -p "$1" "$2"
  "$W/passthrough_ll" -f -o source="$1" ${BENCH_PT_XATTR:+-o xattr} "$2" &
  PT_PID=$!
  for _ in $(seq 1 100); do grep -q " $2 fuse" /proc/mounts && return; sleep 0.05; done
  echo "passthrough_ll did not mount" >&2
  exit 1
}

pt_umount() {  # pt_umount MNT
  fusermount3 -u "$1"
  wait "$PT_PID" 2>/dev/null || true
  PT_PID=
}

# fsx from xfstests, built from ltp/fsx.c alone (no autotools) the way scripts/stress.sh
# builds fsstress: the source is a tree or git directory named by FSX_SRC, else a mirror
# of kdave/xfstests under $XFSTESTS_MIRRORS (/work/.mirror); the binary goes to
# ${XDG_CACHE_HOME:-~/.cache}/docfs/fsx-<source hash>/ and nothing of xfstests into this
# repository. FSX names a binary to use instead.
fsx_build() {
  if [[ -n ${FSX:-} ]]; then echo "$FSX"; return 0; fi
  local src=${FSX_SRC:-} d f tmp hash cache
  if [[ -z $src ]]; then
    for d in "${XFSTESTS_MIRRORS:-/work/.mirror}"/*xfstests*/ "${XFSTESTS_MIRRORS:-/work/.mirror}"/*xfstests*/*/; do
      [[ -d $d ]] || continue
      if [[ -f $d/ltp/fsx.c ]] || git --git-dir="$d" cat-file -e HEAD:ltp/fsx.c 2>/dev/null; then src=${d%/}; break; fi
    done
  fi
  [[ -n $src ]] || { echo "fsx: no xfstests source (set FSX_SRC to a tree or git dir of kdave/xfstests, or FSX)" >&2; return 1; }
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/fsx-src.XXXXXX")
  for f in ltp/fsx.c src/global.h src/statx.h; do
    if [[ -f $src/$f ]]; then cat "$src/$f"
    elif [[ -d $src/.git ]]; then git --git-dir="$src/.git" show "HEAD:$f"
    else git --git-dir="$src" show "HEAD:$f"
    fi >"$tmp/${f##*/}" || { rm -rf "$tmp"; echo "fsx: cannot read $f from $src" >&2; return 1; }
  done
  hash=$(cat "$tmp"/*.c "$tmp"/*.h | sha256sum | cut -c1-12)
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/docfs/fsx-$hash
  if [[ -x $cache/fsx ]]; then rm -rf "$tmp"; echo "$cache/fsx"; return 0; fi
  # What xfstests' configure finds on Debian 12 (include/config.h), minus libxfs.
  printf '#define HAVE_%s 1\n' SYS_TYPES_H SYS_STAT_H SYS_STATVFS_H SYS_TIME_H SYS_IOCTL_H \
    SYS_WAIT_H MALLOC_H DIRENT_H STDLIB_H UNISTD_H ERRNO_H STRING_H STRINGS_H SYS_FCNTL_H \
    SYS_PARAM_H LIBGEN_H ASSERT_H ERR_H LINUX_FALLOC_H SYS_MMAN_H >"$tmp/config.h"
  mkdir -p "$cache"
  if ! gcc -std=gnu11 -O2 -funsigned-char -fno-strict-aliasing -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
      -DHAVE_COPY_FILE_RANGE -include getopt.h -I"$tmp" "$tmp/fsx.c" -o "$cache/fsx.tmp" 2>"$cache/build.log"; then
    cat "$cache/build.log" >&2; rm -rf "$tmp"; echo "fsx: build failed" >&2; return 1
  fi
  mv "$cache/fsx.tmp" "$cache/fsx"
  rm -rf "$tmp"
  echo "$cache/fsx"
}
