#!/usr/bin/env bash
# Jina DocumentArrayMemmap benchmark: a generated DAM of DOCS documents (written with
# `docfs export --format jina-dam`, then grown as Jina 2.0.x grows one: updates appended as
# new rows, deletions as tombstone rows), beside a docfs store of the same documents.
# Prints a table: mount -o ro (the DAM is converted at mount time) + ls -l of every file,
# and the conversion rates.      DOCS=100000  UPDATES=10000  DELETES=5000  DIR=/tmp
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DOCS=${DOCS:-100000} UPDATES=${UPDATES:-10000} DELETES=${DELETES:-5000}
DOCFS=${DOCFS:-$root/build/docfs}
work=$(mktemp -d "${DIR:-/tmp}/docfs-bench-dam.XXXXXX")
cleanup() {
  for m in "$work/mnt-dam" "$work/mnt-store"; do grep -q " $m fuse" /proc/mounts && fusermount3 -uz "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }

# Documents: text of ~200 bytes, tags, a 64-d float32 embedding.
python3 - "$work" "$DOCS" "$UPDATES" <<'PY'
import json, random, struct, base64, sys
work, n, u = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(1)
def doc(i, v):
    return {"id": f"doc-{i:07d}", "text": f"version {v} of document {i} " + "lorem ipsum " * 15,
            "tags": {"i": i, "v": v}, "embedding": [random.random() for _ in range(64)]}
with open(f"{work}/docs.jsonl", "w") as f:
    for i in range(n): f.write(json.dumps(doc(i, 1)) + "\n")
with open(f"{work}/updates.jsonl", "w") as f:
    for i in random.sample(range(n), u): f.write(json.dumps(doc(i, 2)) + "\n")
PY
"$DOCFS" init "$work/base" >/dev/null && "$DOCFS" import "$work/base" "$work/docs.jsonl" >/dev/null
"$DOCFS" init "$work/upd" >/dev/null && "$DOCFS" import "$work/upd" "$work/updates.jsonl" >/dev/null
t=$(now); "$DOCFS" export "$work/base" --format jina-dam -o "$work/dam" >/dev/null; export_s=$(echo "$(now) - $t" | bc -l)
"$DOCFS" export "$work/upd" --format jina-dam -o "$work/dam-upd" >/dev/null
# Grow the DAM as Jina 2.0.x does: updated documents appended (a second row, same id),
# then deleted ids' rows turned into tombstones (-1, -1, -1) in place.
python3 - "$work/dam" "$work/dam-upd" "$DELETES" <<'PY'
import random, struct, sys
dam, upd, deletes = sys.argv[1], sys.argv[2], int(sys.argv[3])
row = 168
h = bytearray(open(f"{dam}/header.bin", "rb").read())
start = open(f"{dam}/body.bin", "rb").seek(0, 2)
uh = open(f"{upd}/header.bin", "rb").read(); ub = open(f"{upd}/body.bin", "rb").read()
with open(f"{dam}/body.bin", "ab") as body:
    for k in range(len(uh) // row):
        p, r, rl = struct.unpack_from("<qqq", uh, k * row + 144)
        rec = ub[p + r:p + rl]
        h += uh[k * row:k * row + 144] + struct.pack("<qqq", start // 4096 * 4096, start % 4096, start % 4096 + len(rec))
        body.write(rec); start += len(rec)
random.seed(2)
for k in random.sample(range(len(h) // row), deletes):
    struct.pack_into("<qqq", h, k * row + 144, -1, -1, -1)
open(f"{dam}/header.bin", "wb").write(h)
PY
"$DOCFS" init "$work/store" >/dev/null
sync
t=$(now); "$DOCFS" import "$work/store" "$work/dam" >"$work/report"; import_s=$(echo "$(now) - $t" | bc -l)
live=$(grep -o '[0-9]* live documents' "$work/report" | cut -d' ' -f1)
rows=$(grep -o '[0-9]* header rows' "$work/report" | cut -d' ' -f1)
body_mb=$(echo "$(stat -c %s "$work/dam/body.bin") / 1000000" | bc -l)
store_mb=$(echo "$(stat -c %s "$work/base/body.bin") / 1000000" | bc -l)

mount_ls() {  # mount_ls SRC MNT: seconds to mount -o ro, seconds to ls -lR
  mkdir -p "$2"
  local t0 t1 t2
  t0=$(now); "$DOCFS" mount "$1" "$2" -o ro 2>/dev/null; t1=$(now)
  local n; n=$(ls -lR "$2" | grep -c '^-'); t2=$(now)
  "$DOCFS" umount "$2"
  echo "$(echo "$t1 - $t0" | bc -l) $(echo "$t2 - $t1" | bc -l) $n"
}
read -r dam_mount dam_ls dam_files < <(mount_ls "$work/dam" "$work/mnt-dam")
read -r st_mount st_ls st_files < <(mount_ls "$work/store" "$work/mnt-store")

printf '%s\n' "Jina DAM: $rows header rows, $live live documents ($UPDATES updates, $DELETES tombstones), body.bin $(printf %.1f "$body_mb") MB"
printf '%-44s %12s %12s\n' "" "Jina DAM" "docfs store"
printf '%-44s %12.2f %12.2f\n' "mount -o ro (s)" "$dam_mount" "$st_mount"
printf '%-44s %12.2f %12.2f\n' "ls -lR of every file (s)" "$dam_ls" "$st_ls"
printf '%-44s %12s %12s\n' "files listed" "$dam_files" "$st_files"
copy_mb=$(echo "($(stat -c %s "$work/store/body.bin") + $(stat -c %s "$work/store/header.bin")) / 1000000" | bc -l)
printf '%-44s %12.1f %12s\n' "temporary space of the mount's copy (MB)" "$copy_mb" "0"
printf '%-44s %12.0f %12s\n' "import DAM -> docfs store (docs/s)" "$(echo "$live / $import_s" | bc -l)" "-"
printf '%-44s %12.1f %12s\n' "import DAM -> docfs store (MB/s of body.bin)" "$(echo "$body_mb / $import_s" | bc -l)" "-"
printf '%-44s %12s %12.0f\n' "export docfs store -> DAM (docs/s)" "-" "$(echo "$DOCS / $export_s" | bc -l)"
printf '%-44s %12s %12.1f\n' "export docfs store -> DAM (MB/s of store)" "-" "$(echo "$store_mb / $export_s" | bc -l)"
