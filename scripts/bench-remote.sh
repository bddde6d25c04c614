#!/usr/bin/env bash
# Push/pull throughput against a local S3 server (s3rver 3.7.1 on 127.0.0.1) side by side
# with Debian's awscli copying a file of the same size, and file:// push/pull against cp.
#   BENCH_MB=1024        store size in MiB (documents of BENCH_DOC_KB KiB each)
#   BENCH_DOC_KB=256
#   DOCFS=path/to/docfs  (default: build/docfs)
#   BENCH_DIR=/tmp/...   where the stores and files go (needs ~4x BENCH_MB free)
#   BENCH_RUNS=3         each operation runs this many times, interleaved with its peer;
#                        the table shows the median (a shared machine is noisy)
#   BENCH_REMOTES="s3 file docarray"  which parts to run (docarray: DocArray v2's NAME.docs on
#                        file:// and s3://, push --format docarray and pull, beside cp / aws s3 cp
#                        and, where /usr/bin/python3 runs DocArray 0.40.1 (with boto3 for
#                        s3://), DocList[TextDoc].pull of it)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DOCFS=$(realpath "${DOCFS:-$ROOT/build/docfs}")
MB=${BENCH_MB:-1024}
DOC_KB=${BENCH_DOC_KB:-256}
RUNS=${BENCH_RUNS:-3}
REMOTES=" ${BENCH_REMOTES:-s3 file docarray} "
AWS=/usr/bin/aws
[[ -x $DOCFS ]] || { echo "bench-remote: build docfs first (scripts/build.sh) or set DOCFS" >&2; exit 1; }
[[ -x $AWS ]] || { echo "bench-remote: needs Debian's awscli at $AWS" >&2; exit 1; }

W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/docfs-bench-remote.XXXXXX")
. tests/s3server/lib.sh
trap 's3_stop 2>/dev/null; rm -rf "$W"' EXIT
export HOME=$W/home AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
unset AWS_CA_BUNDLE AWS_PROFILE DOCFS_REMOTE || true
mkdir -p "$HOME"

echo "bench-remote: building a store of $MB MiB in $DOC_KB KiB documents..." >&2
count=$((MB * 1024 / DOC_KB))
mkdir -p "$W/src"
head -c $((DOC_KB * 1024 * 64)) /dev/urandom >"$W/seed"
for ((i = 0; i < count; i++)); do
  # Distinct documents without paying /dev/urandom for every byte.
  dd if="$W/seed" of="$W/src/doc$i" bs=1024 count="$DOC_KB" skip=$(((i * 7) % (DOC_KB * 63))) status=none
  printf '%08d' "$i" | dd of="$W/src/doc$i" conv=notrunc status=none
done
"$DOCFS" init "$W/store" >/dev/null
(cd "$W/src" && ls | xargs -n 512 "$DOCFS" put "$W/store" >/dev/null)
rm -rf "$W/src"

if [[ $REMOTES == *" s3 "* ]]; then
  s3_start "$W/s3" bench 3
  export AWS_ENDPOINT_URL=$S3_ENDPOINT
fi

now() { date +%s.%N; }
timed() { # timed VAR COMMAND...: seconds into VAR
  local var=$1 t0 t1
  shift
  sync
  t0=$(now)
  "$@" >/dev/null
  t1=$(now)
  printf -v "$var" '%.3f' "$(echo "$t1 - $t0" | bc -l)"
}

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
declare -A SAMPLES
sample() { # sample NAME COMMAND...: one timed run appended to SAMPLES[NAME]
  local name=$1 t
  shift
  timed t "$@"
  SAMPLES[$name]="${SAMPLES[$name]:-} $t"
}
settle() { for n in "${!SAMPLES[@]}"; do printf -v "$n" '%s' "$(median ${SAMPLES[$n]})"; done; }

# Every docfs pull fsyncs the store it builds and every push to file:// fsyncs the object,
# so the fair peers also sync what they wrote (for s3:// the plain download is shown too).
mkdir -p "$W/remote" "$W/cpdir"
"$DOCFS" push "$W/store" bench --remote "file://$W/remote" --quiet
size=$(stat -c %s "$W/remote/bench")
head -c "$size" /dev/urandom >"$W/file"
[[ $REMOTES == *" s3 "* ]] && for ((r = 0; r < RUNS; r++)); do
  sample s3_push "$DOCFS" push "$W/store" bench --remote s3://bench --quiet
  sample aws_up "$AWS" s3 cp --only-show-errors --endpoint-url "$S3_ENDPOINT" "$W/file" s3://bench/file
  rm -rf "$W/pulled-s3" "$W/file.aws"
  sample s3_pull "$DOCFS" pull bench "$W/pulled-s3" --remote s3://bench --quiet
  rm -rf "$W/file.aws"
  sample aws_down "$AWS" s3 cp --only-show-errors --endpoint-url "$S3_ENDPOINT" s3://bench/file "$W/file.aws"
  rm -rf "$W/file.aws"
  sample aws_down_sync bash -c "'$AWS' s3 cp --only-show-errors --endpoint-url '$S3_ENDPOINT' s3://bench/file '$W/file.aws' && sync '$W/file.aws'"
done
[[ $REMOTES == *" s3 "* ]] && s3_stop

# file:// runs twice: with each command's input read just before (warm) and evicted from
# the page cache (cold), the same for docfs and for cp. (docfs writes the object and the
# pulled body with O_DIRECT, so without this the peer would read a file the previous step
# left cached while docfs reads one from the disk.) A push replaces the key's object, so cp
# replaces its file too: freeing the old copy's space is inside the timed command for both.
prepare_input() { # prepare_input warm|cold FILE...
  local mode=$1
  shift
  sync
  if [[ $mode == warm ]]; then
    cat "$@" >/dev/null
  else
    python3 -c 'import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$@"
  fi
}
cp "$W/file" "$W/cpdir/file"
[[ $REMOTES == *" file "* ]] && for mode in warm cold; do
  for ((r = 0; r < RUNS; r++)); do
    prepare_input $mode "$W/store/header.bin" "$W/store/body.bin"
    sample file_push_$mode "$DOCFS" push "$W/store" bench --remote "file://$W/remote" --quiet
    prepare_input $mode "$W/file"
    sample cp_up_$mode bash -c "cp '$W/file' '$W/cpdir/file' && sync '$W/cpdir/file'"
    rm -rf "$W/pulled-file"
    prepare_input $mode "$W/remote/bench"
    sample file_pull_$mode "$DOCFS" pull bench "$W/pulled-file" --remote "file://$W/remote" --quiet
    rm -f "$W/file.cp"
    prepare_input $mode "$W/cpdir/file"
    sample cp_down_$mode bash -c "cp '$W/cpdir/file' '$W/file.cp' && sync '$W/file.cp'"
  done
done
# DocArray v2's file:// object (u32 length + gzip(DocProto) per document): the same store
# pushed with --format docarray and pulled back, beside cp + sync of that object.
DA_READER=/work/shared/interop/docarray-v2/read_with_docarray_v2.py
da_python=no
if [[ $REMOTES == *" docarray "* ]]; then
  mkdir -p "$W/daremote" "$W/dacp"
  "$DOCFS" push "$W/store" dabench --format docarray --remote "file://$W/daremote" --quiet
  dasize=$(stat -c %s "$W/daremote/dabench.docs")
  [[ -f $DA_READER ]] && /usr/bin/python3 "$DA_READER" pull "file://$W/daremote/dabench" TextDoc >/dev/null 2>&1 && da_python=yes
  for ((r = 0; r < RUNS; r++)); do
    rm -f "$W/daremote/dabench.docs"
    prepare_input warm "$W/store/header.bin" "$W/store/body.bin"
    sample da_push "$DOCFS" push "$W/store" dabench --format docarray --remote "file://$W/daremote" --quiet
    prepare_input warm "$W/daremote/dabench.docs"
    sample da_cp_up bash -c "cp '$W/daremote/dabench.docs' '$W/dacp/x' && sync '$W/dacp/x'"
    rm -rf "$W/pulled-da"
    prepare_input warm "$W/daremote/dabench.docs"
    sample da_pull "$DOCFS" pull dabench "$W/pulled-da" --remote "file://$W/daremote" --quiet
    rm -f "$W/dacp/y"
    sample da_cp_down bash -c "cp '$W/dacp/x' '$W/dacp/y' && sync '$W/dacp/y'"
    [[ $da_python == yes ]] && sample da_python_pull /usr/bin/python3 "$DA_READER" pull "file://$W/daremote/dabench" TextDoc
  done
  # DocArray's s3:// object (one gzip around framed pickles): the same store pushed and
  # pulled on s3rver 3.7.1, beside aws s3 cp of a file of the object's size (as the s3 rows).
  s3_start "$W/s3da" bench 3
  export AWS_ENDPOINT_URL=$S3_ENDPOINT
  "$DOCFS" push "$W/store" dabench --format docarray --remote s3://bench/da --quiet
  das3size=$("$DOCFS" keys --remote s3://bench/da | awk -F'\t' '$1 == "dabench.docs" {print $2}')
  head -c "$das3size" /dev/urandom >"$W/dafile"
  da_python_s3=no
  [[ -f $DA_READER ]] && /usr/bin/python3 -c 'import boto3, smart_open' 2>/dev/null &&
    /usr/bin/python3 "$DA_READER" pull s3://bench/da/dabench TextDoc "$S3_ENDPOINT" >/dev/null 2>&1 && da_python_s3=yes
  for ((r = 0; r < RUNS; r++)); do
    prepare_input warm "$W/store/header.bin" "$W/store/body.bin"
    sample da_s3_push "$DOCFS" push "$W/store" dabench --format docarray --remote s3://bench/da --quiet
    prepare_input warm "$W/dafile"
    sample da_aws_up "$AWS" s3 cp --only-show-errors --endpoint-url "$S3_ENDPOINT" "$W/dafile" s3://bench/dafile
    rm -rf "$W/pulled-da-s3"
    sample da_s3_pull "$DOCFS" pull dabench "$W/pulled-da-s3" --remote s3://bench/da --quiet
    rm -f "$W/dafile.aws"
    sample da_aws_down "$AWS" s3 cp --only-show-errors --endpoint-url "$S3_ENDPOINT" s3://bench/dafile "$W/dafile.aws"
    rm -f "$W/dafile.aws"
    [[ $da_python_s3 == yes ]] &&
      sample da_python_s3_pull /usr/bin/python3 "$DA_READER" pull s3://bench/da/dabench TextDoc "$S3_ENDPOINT"
  done
  s3_stop
  cmp -s <("$DOCFS" export "$W/pulled-da" --format jsonl) <("$DOCFS" export "$W/pulled-da-s3" --format jsonl) ||
    { echo "bench-remote: the DocArray object pulled from s3:// differs from the file:// one!" >&2; exit 1; }
fi
settle

"$DOCFS" export "$W/store" | sha256sum >"$W/a"
for r in $REMOTES; do
  [[ $r == docarray ]] && continue
  "$DOCFS" export "$W/pulled-$r" | sha256sum >"$W/b"
  cmp -s "$W/a" "$W/b" || { echo "bench-remote: the store pulled from $r:// differs!" >&2; exit 1; }
done

mbps() { echo "scale=1; $size / 1048576 / $1" | bc -l; }
ratio() { echo "scale=2; $2 / $1" | bc -l; }
echo
echo "archive: $((size / 1048576)) MiB, $count documents of $DOC_KB KiB; server: s3rver 3.7.1 on 127.0.0.1; median of $RUNS runs"
row() { printf '%-20s %10s %10s   %-24s %10s %10s %8s\n' "$1" "$2" "$(mbps "$2")" "$3" "$4" "$(mbps "$4")" "$(ratio "$2" "$4")x"; }
printf '%-20s %10s %10s   %-24s %10s %10s %8s\n' operation seconds MiB/s peer seconds MiB/s ratio
if [[ $REMOTES == *" s3 "* ]]; then
  row "docfs push s3://" "$s3_push" "aws s3 cp (up)" "$aws_up"
  row "docfs pull s3://" "$s3_pull" "aws s3 cp (down)" "$aws_down"
  row "docfs pull s3://" "$s3_pull" "aws s3 cp + sync FILE" "$aws_down_sync"
fi
if [[ $REMOTES == *" file "* ]]; then
  for mode in warm cold; do
    push=file_push_$mode cp_up=cp_up_$mode pull=file_pull_$mode cp_down=cp_down_$mode
    row "push file:// $mode" "${!push}" "cp + sync FILE, $mode" "${!cp_up}"
    row "pull file:// $mode" "${!pull}" "cp + sync FILE, $mode" "${!cp_down}"
  done
fi
if [[ $REMOTES == *" docarray "* ]]; then
  size=$dasize
  echo "DocArray v2 object (file://): $((size / 1048576)) MiB, $count TextDocs with $DOC_KB KiB bytes_"
  row "push --format docarray" "$da_push" "cp + sync FILE" "$da_cp_up"
  row "pull NAME.docs" "$da_pull" "cp + sync FILE" "$da_cp_down"
  if [[ $da_python == yes ]]; then row "pull NAME.docs" "$da_pull" "DocList[TextDoc].pull" "$da_python_pull"
  else echo "(DocArray 0.40.1 does not run here: no DocList.pull row)"; fi
  size=$das3size
  echo "DocArray v2 object (s3://, gzip'd pickles): $((size / 1048576)) MiB, the same $count TextDocs"
  row "push s3:// docarray" "$da_s3_push" "aws s3 cp (up)" "$da_aws_up"
  row "pull s3:// NAME.docs" "$da_s3_pull" "aws s3 cp (down)" "$da_aws_down"
  if [[ $da_python_s3 == yes ]]; then row "pull s3:// NAME.docs" "$da_s3_pull" "DocList[TextDoc].pull s3" "$da_python_s3_pull"
  else echo "(DocArray 0.40.1 with boto3 does not run here: no s3 DocList.pull row)"; fi
  echo "(DocArray's format has no SHA-256: push gzips each document, stored when incompressible;"
  echo " pull gunzips, parses each DocProto and builds the store; DocList.pull is DocArray 0.40.1"
  echo " under /usr/bin/python3, reading the object docfs pushed)"
fi
echo "(ratio = peer seconds / docfs seconds: above 1 means docfs is faster. docfs push and pull"
echo " also hash every byte with SHA-256; pull rebuilds the store and fsyncs it, file:// push"
echo " fsyncs the object, so cp is followed by sync; an s3:// push is durable once the server"
echo " answers, like aws s3 cp. warm/cold: the input was read just before / evicted from the"
echo " page cache, for both sides alike)"
