#!/usr/bin/env bash
# Installs what docfs needs to build and test, on Debian 12, as root. Installs only what is
# missing, so a second run does nothing. Non-interactive (CI has no stdin).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  cmake g++ make pkg-config libfuse3-dev fuse3 libcurl4-openssl-dev libcereal-dev
  libssl-dev libgtest-dev nlohmann-json3-dev
  # interop: DocArray/Jina protobuf schemas and the compressions their files use
  libprotobuf-dev protobuf-compiler zlib1g-dev liblz4-dev libbz2-dev liblzma-dev
  # tests: tools driven against the mount (xfsprogs: xfs_io for SEEK_DATA/SEEK_HOLE maps;
  # perl with Time::HiRes for the times test; sqlite3 for the extents test and
  # bench-writes.sh), the S3 test server, peers for benchmarks
  rsync fio attr curl xxd bc python3 perl nodejs npm awscli s3fs man-db xfsprogs sqlite3 time
  # fuzzing (libFuzzer runtimes)
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  # node and npm may come from elsewhere (e.g. NodeSource's nodejs bundles npm).
  if [[ $p == npm || $p == nodejs ]] && command -v "${p/nodejs/node}" >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi

# The S3 test servers (npm packages pinned in tests/s3server/package-lock.json).
if [[ -x tests/s3server/install.sh ]]; then
  tests/s3server/install.sh
fi
