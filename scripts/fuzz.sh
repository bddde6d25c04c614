#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.cc) with clang + ASan/UBSan and runs each
# for FUZZ_SECONDS (default 60) from its seed corpus (tests/fuzz/corpus/NAME). Prints
# executions and crashes per target; exits 1 if any target crashed. A crashing input is
# kept under build-fuzz/crashes/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
build=$root/build-fuzz
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DDOCFS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
mkdir -p "$build/crashes"
status=0
printf '%-24s %12s %8s\n' target executions crashes
for bin in "$build"/fuzz_*; do
  [[ -x $bin ]] || continue
  name=$(basename "$bin")
  corpus=$(mktemp -d)
  [[ -d $root/tests/fuzz/corpus/$name ]] && cp -r "$root/tests/fuzz/corpus/$name/." "$corpus/"
  set +e
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 "$bin" "$corpus" -max_total_time="$seconds" -max_len=65536 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/crashes/$name-" >"$build/$name.log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$name.log" | tail -1)
  crashes=0
  if [[ $rc != 0 ]]; then crashes=1; status=1; tail -30 "$build/$name.log" >&2; fi
  printf '%-24s %12s %8s\n' "$name" "${execs:-?}" "$crashes"
  rm -rf "$corpus"
done
exit $status
