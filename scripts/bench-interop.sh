#!/usr/bin/env bash
# Import and export of DocArray-format files: N documents (1 KiB text, a 768-d float32
# embedding, 3 tags; N=100000 unless BENCH_DOCS says) as DocArray v0 JSON and as the binary
# stream with gzip per document, in documents/s and MB/s, beside peers on the same files:
# python3's json.load of the JSON, gzip -d of the same documents gzip'd whole, and DocArray
# 0.21.1's own from_json/from_bytes/to_json/to_bytes where its sources are at hand
# (../shared/interop, run with Debian's /usr/bin/python3; BENCH_DOCARRAY=0 skips it).
# Then the peak RSS of importing a BENCH_BIG_GIB (default 4) GiB stream.
#
#   scripts/bench-interop.sh            (builds first; W=DIR keeps the files there)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
N=${BENCH_DOCS:-100000}
BIG_GIB=${BENCH_BIG_GIB:-4}
W=${W:-$(mktemp -d /tmp/docfs-bench-interop.XXXXXX)}
mkdir -p "$W"
trap '[[ -n ${KEEP:-} ]] || rm -rf "$W"' EXIT
"$root/scripts/build.sh" >/dev/null
D=$root/build/docfs
PEERS=${INTEROP_DIR:-$root/../shared/interop}
PY=/usr/bin/python3

# seconds and peak RSS (KiB) of a command: sets SECS and RSS_KB
timed() {
  local out
  out=$( { /usr/bin/time -f '%e %M' "$@" >/dev/null 2>"$W/err"; } 2>&1 ) || { cat "$W/err" >&2; return 1; }
  read -r SECS RSS_KB <<<"$(tail -1 "$W/err")"
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? b / s / 1e6 : 0) }'; }
rows=()
row() {  # row WHAT TOOL FILE_BYTES  (uses SECS, RSS_KB)
  rows+=("$(printf '%-34s %-26s %9s %10s %9s %8s' "$1" "$2" "$SECS" "$(rate "$N" "$SECS")" "$(mbps "$3" "$SECS")" \
    "$((RSS_KB / 1024))")")
}

echo "generating $N documents ..." >&2
"$PY" - "$N" "$W/docs.json" <<'PY'
import json, random, struct, sys
n, path = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(1)
text = ''.join(rnd.choice('abcdefghij klmnopqrstuvwxyz') for _ in range(1024))
def f32(x): return struct.unpack('<f', struct.pack('<f', x))[0]
emb = [f32(rnd.uniform(-1, 1)) for _ in range(768)]
fields = ['parent_id', 'granularity', 'adjacency', 'blob', 'tensor', 'mime_type', 'weight', 'uri', 'offset',
          'location', 'modality', 'evaluations', 'scores', 'chunks', 'matches']
with open(path, 'w') as f:
    f.write('[')
    for i in range(n):
        d = {'id': f'doc-{i:07d}', 'text': text, 'embedding': emb,
             'tags': {'split': 'train' if i % 5 else 'test', 'n': i, 'score': i / 7}}
        d.update({k: None for k in fields})
        f.write((',\n' if i else '\n') + json.dumps(d))
    f.write('\n]\n')
PY
json_bytes=$(stat -c %s "$W/docs.json")

"$D" init "$W/a" >/dev/null
timed "$D" import "$W/a" "$W/docs.json"; row "import json" docfs "$json_bytes"
timed "$D" export "$W/a" -o "$W/out.json"; row "export json" docfs "$(stat -c %s "$W/out.json")"
timed "$D" export "$W/a" -o "$W/docs.stream" --format stream --compress gzip
stream_bytes=$(stat -c %s "$W/docs.stream"); row "export stream+gzip" docfs "$stream_bytes"
"$D" init "$W/b" >/dev/null
timed "$D" import "$W/b" "$W/docs.stream"; row "import stream+gzip" docfs "$stream_bytes"
timed "$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$W/docs.json"; row "parse json" "python3 json.load" "$json_bytes"
"$D" export "$W/a" -o "$W/docs.pa.gz" --format protobuf-array --compress gzip
timed gzip -dc "$W/docs.pa.gz"; row "gunzip the same documents" "gzip -d" "$(stat -c %s "$W/docs.pa.gz")"

if [[ ${BENCH_DOCARRAY:-1} != 0 && -f $PEERS/peers.py ]] && "$PY" -c 'import numpy, google.protobuf, pydantic' 2>/dev/null; then
  for op in from_json from_bytes to_json to_bytes; do
    cat >"$W/da.py" <<PY
import sys
sys.path.insert(0, '$PEERS')
import peers
peers.use('docarray-v0.21.1')
from docarray import DocumentArray
op = '$op'
if op == 'from_json':
    DocumentArray.from_json(open('$W/docs.json').read())
elif op == 'from_bytes':
    DocumentArray.from_bytes(open('$W/docs.stream', 'rb').read(), protocol='protobuf', compress='gzip')
else:
    da = DocumentArray.from_bytes(open('$W/docs.stream', 'rb').read(), protocol='protobuf', compress='gzip')
    import time
    t = time.time()
    out = da.to_json() if op == 'to_json' else da.to_bytes(protocol='protobuf', compress='gzip')
    print(time.time() - t, file=sys.stderr)
PY
    if timed "$PY" "$W/da.py"; then
      case $op in
        from_json) row "import json" "DocArray 0.21.1 from_json" "$json_bytes" ;;
        from_bytes) row "import stream+gzip" "DocArray from_bytes" "$stream_bytes" ;;
        # to_*: the time of the conversion alone (printed by the script), RSS of the whole run
        to_json) SECS=$(printf '%.2f' "$(grep -E '^[0-9.]+$' "$W/err" | tail -1)"); row "export json" "DocArray to_json" "$json_bytes" ;;
        to_bytes) SECS=$(printf '%.2f' "$(grep -E '^[0-9.]+$' "$W/err" | tail -1)"); row "export stream+gzip" "DocArray to_bytes" "$stream_bytes" ;;
      esac
    else
      echo "DocArray $op failed (see above); its row is left out" >&2
    fi
  done
else
  echo "DocArray 0.21.1 not runnable here (needs $PEERS and Debian's python3-numpy, -protobuf, -pydantic)" >&2
fi

# Peak memory of importing a big stream: 1 MiB documents, uncompressed.
docs_big=$((BIG_GIB * 1024))
"$PY" - "$docs_big" "$W/big.stream" <<'PY'
import os, struct, sys
n, path = int(sys.argv[1]), sys.argv[2]
blob = os.urandom(1 << 20)
def varint(v):
    out = b''
    while True:
        b = v & 0x7f; v >>= 7
        if v: out += bytes([b | 0x80])
        else: return out + bytes([b])
with open(path, 'wb') as f:
    f.write(b'\x01' + struct.pack('>Q', n))
    for i in range(n):
        id = f'big-{i:06d}'.encode()
        doc = b'\x0a' + varint(len(id)) + id + b'\x12' + varint(len(blob)) + blob  # id=1, blob=2
        f.write(struct.pack('>I', len(doc)) + doc)
PY
big_bytes=$(stat -c %s "$W/big.stream")
rm -rf "$W/a" "$W/b" "$W/out.json"
"$D" init "$W/c" >/dev/null
N=$docs_big timed "$D" import "$W/c" "$W/big.stream"
big_secs=$SECS big_rss=$RSS_KB

printf '\n%-34s %-26s %9s %10s %9s %8s\n' "N=$N documents" tool seconds "docs/s" "MB/s" "RSS MiB"
printf '%s\n' "${rows[@]}"
printf '\nimport of a %s GiB stream (%d documents of 1 MiB): %s s, %s MB/s, peak RSS %d MiB\n' \
  "$BIG_GIB" "$docs_big" "$big_secs" "$(mbps "$big_bytes" "$big_secs")" "$((big_rss / 1024))"
