#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest: once in a normal
# build and once under AddressSanitizer + UndefinedBehaviorSanitizer; the concurrency tests
# under ThreadSanitizer; then the fuzzers.
#   DOCFS_SKIP_SANITIZERS=1  skips the sanitizer pass (quicker local runs)
#   DOCFS_SKIP_FUZZ=1        skips the libFuzzer runs; FUZZ_SECONDS sets their length
#   CTEST_ARGS="-R core"     passes arguments to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

run_suite() {
  local dir=$1
  shift
  scripts/build.sh "$dir" "$@"
  # Mount tests run one at a time: each drives a real mount and the machine may be small.
  (cd "$dir" && ctest --output-on-failure --timeout 600 ${CTEST_ARGS:-})
}

status=0
echo "== tests (RelWithDebInfo) =="
run_suite build || status=1
if [[ ${DOCFS_SKIP_SANITIZERS:-0} != 1 ]]; then
  echo "== tests under ASan + UBSan =="
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite build-asan -DDOCFS_SANITIZE=address,undefined || status=1
  # The concurrency tests (threads in one store, many processes on one mount, online
  # compaction while reading; the helper threads of push and pull: ordered hashing, direct
  # writes in flight, archive pack and unpack) under ThreadSanitizer.
  echo "== concurrency tests under TSan =="
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOCFS_SANITIZE=thread >/dev/null
  cmake --build build-tsan -j"$(nproc)" --target docfs core_tests remote_tests >/dev/null
  (cd build-tsan && TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/../tests/tsan.supp" \
    ctest --output-on-failure --timeout 600 \
      -R 'PruneWhile|StreamWriter|StoreBuilder|DirectFileWriter|BackgroundSha256|Archive\.|fs\.test_(concurrency|compact)') || status=1
fi
if [[ ${DOCFS_SKIP_FUZZ:-0} != 1 ]]; then
  # Every parser of bytes we did not write, under libFuzzer (60 s each in CI).
  echo "== fuzzing =="
  FUZZ_SECONDS=${FUZZ_SECONDS:-$([[ ${CI:-} == true ]] && echo 60 || echo 20)} scripts/fuzz.sh || status=1
fi
exit $status
