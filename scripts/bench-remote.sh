#!/usr/bin/env bash
# Push/pull throughput against a local S3 server (s3rver 3.7.1 on 127.0.0.1) side by side
# with Debian's awscli copying a file of the same size, and file:// push/pull against cp.
#   BENCH_MB=1024        store size in MiB (documents of BENCH_DOC_KB KiB each)
#   BENCH_DOC_KB=256
#   DOCFS=path/to/docfs  (default: build/docfs)
#   BENCH_DIR=/tmp/...   where the stores and files go (needs ~4x BENCH_MB free)
#   BENCH_RUNS=3         each operation runs this many times, interleaved with its peer;
#                        the table shows the median (a shared machine is noisy)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DOCFS=$(realpath "${DOCFS:-$ROOT/build/docfs}")
MB=${BENCH_MB:-1024}
DOC_KB=${BENCH_DOC_KB:-256}
RUNS=${BENCH_RUNS:-3}
AWS=/usr/bin/aws
[[ -x $DOCFS ]] || { echo "bench-remote: build docfs first (scripts/build.sh) or set DOCFS" >&2; exit 1; }
[[ -x $AWS ]] || { echo "bench-remote: needs Debian's awscli at $AWS" >&2; exit 1; }

W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/docfs-bench-remote.XXXXXX")
. tests/s3server/lib.sh
trap 's3_stop; rm -rf "$W"' EXIT
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

s3_start "$W/s3" bench 3
export AWS_ENDPOINT_URL=$S3_ENDPOINT

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
# so the fair peers also sync what they wrote (the plain copies are shown as well).
"$DOCFS" push "$W/store" bench --remote s3://bench --quiet
size=$("$DOCFS" keys --remote s3://bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["size"])')
head -c "$size" /dev/urandom >"$W/file"
for ((r = 0; r < RUNS; r++)); do
  sample s3_push "$DOCFS" push "$W/store" bench --remote s3://bench --quiet
  sample aws_up "$AWS" s3 cp --only-show-errors --endpoint-url "$S3_ENDPOINT" "$W/file" s3://bench/file
  rm -rf "$W/pulled-s3" "$W/file.aws"
  sample s3_pull "$DOCFS" pull bench "$W/pulled-s3" --remote s3://bench --quiet
  rm -rf "$W/file.aws"
  sample aws_down "$AWS" s3 cp --only-show-errors --endpoint-url "$S3_ENDPOINT" s3://bench/file "$W/file.aws"
  rm -rf "$W/file.aws"
  sample aws_down_sync bash -c "'$AWS' s3 cp --only-show-errors --endpoint-url '$S3_ENDPOINT' s3://bench/file '$W/file.aws' && sync '$W/file.aws'"
done
s3_stop

mkdir -p "$W/remote" "$W/cpdir"
for ((r = 0; r < RUNS; r++)); do
  sample file_push "$DOCFS" push "$W/store" bench --remote "file://$W/remote" --quiet
  rm -f "$W/cpdir/file"
  sample cp_up cp "$W/file" "$W/cpdir/file"
  rm -f "$W/cpdir/file2"
  sample cp_up_sync bash -c "cp '$W/file' '$W/cpdir/file2' && sync '$W/cpdir/file2'"
  rm -rf "$W/pulled-file"
  sample file_pull "$DOCFS" pull bench "$W/pulled-file" --remote "file://$W/remote" --quiet
  rm -f "$W/file.cp"
  sample cp_down cp "$W/cpdir/file" "$W/file.cp"
  rm -f "$W/file.cp2"
  sample cp_down_sync bash -c "cp '$W/cpdir/file' '$W/file.cp2' && sync '$W/file.cp2'"
done
settle

"$DOCFS" export "$W/store" | sha256sum >"$W/a"
"$DOCFS" export "$W/pulled-s3" | sha256sum >"$W/b"
"$DOCFS" export "$W/pulled-file" | sha256sum >"$W/c"
cmp -s "$W/a" "$W/b" && cmp -s "$W/a" "$W/c" || { echo "bench-remote: pulled stores differ!" >&2; exit 1; }

mbps() { echo "scale=1; $size / 1048576 / $1" | bc -l; }
ratio() { echo "scale=2; $2 / $1" | bc -l; }
echo
echo "archive: $((size / 1048576)) MiB, $count documents of $DOC_KB KiB; server: s3rver 3.7.1 on 127.0.0.1; median of $RUNS runs"
row() { printf '%-18s %10s %10s   %-22s %10s %10s %8s\n' "$1" "$2" "$(mbps "$2")" "$3" "$4" "$(mbps "$4")" "$(ratio "$2" "$4")x"; }
printf '%-18s %10s %10s   %-22s %10s %10s %8s\n' operation seconds MiB/s peer seconds MiB/s ratio
row "docfs push s3://" "$s3_push" "aws s3 cp (up)" "$aws_up"
row "docfs pull s3://" "$s3_pull" "aws s3 cp (down)" "$aws_down"
row "docfs pull s3://" "$s3_pull" "aws s3 cp + sync FILE" "$aws_down_sync"
row "docfs push file://" "$file_push" "cp (to remote)" "$cp_up"
row "docfs push file://" "$file_push" "cp + sync FILE" "$cp_up_sync"
row "docfs pull file://" "$file_pull" "cp (from remote)" "$cp_down"
row "docfs pull file://" "$file_pull" "cp + sync FILE" "$cp_down_sync"
echo "(ratio = peer seconds / docfs seconds: above 1 means docfs is faster. docfs push and pull"
echo " also hash every byte with SHA-256; pull rebuilds the store and fsyncs it, file:// push"
echo " fsyncs the object: the fair peers are the '+ sync FILE' rows; an s3:// push is durable"
echo " once the server answers, like aws s3 cp)"
