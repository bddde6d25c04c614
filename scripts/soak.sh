#!/usr/bin/env bash
# Soak test (not in CI):  DURATION=600 scripts/soak.sh
# 8 concurrent workers (WORKERS) drive one mount for DURATION seconds (default 600):
# write+verify, overwrite, append, read back, rename, unlink, setxattr/getxattr, listing,
# with online compaction on (small thresholds) and `docfs prune` every 20 s. Every read is
# compared with what the worker wrote. Reports ops/s, errors (must be 0) and the daemon's
# RSS at start and end (and its peak); exits 1 on any error. Unmounts in a trap and kills
# only the PIDs it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DOCFS=${DOCFS:-$root/build-rel/docfs}
DURATION=${DURATION:-600}
WORKERS=${WORKERS:-8}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/docfs-soak.XXXXXX")
cp "$DOCFS" "$WORK/docfs"; DOCFS=$WORK/docfs
export XDG_DATA_HOME=$WORK/xdg; unset DOCFS_REMOTE
STORE=$WORK/store MNT=$WORK/mnt
mkdir -p "$MNT"
PIDS=()
DAEMON_PID=
cleanup() {
  local rc=$? p
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if grep -q " $MNT fuse" /proc/mounts; then "$DOCFS" umount "$MNT" >/dev/null 2>&1 || fusermount3 -uz "$MNT"; fi
  [[ -n $DAEMON_PID ]] && { kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; }
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

"$DOCFS" init "$STORE" >/dev/null
"$DOCFS" mount -f "$STORE" "$MNT" -o compact_min=4M,compact_ratio=0.3 2>"$WORK/daemon.log" &
DAEMON_PID=$!
for _ in $(seq 200); do grep -q " $MNT fuse" /proc/mounts && break; sleep 0.05; done
grep -q " $MNT fuse" /proc/mounts || { cat "$WORK/daemon.log" >&2; exit 1; }

cat >"$WORK/worker.py" <<'PY'
import hashlib, json, os, random, sys, time
top, wid, until, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rng = random.Random(wid)
d = os.path.join(top, "w%d" % wid)
os.makedirs(d, exist_ok=True)
model = {}
ops = errors = 0
first_errors = []
def err(msg):
    global errors
    errors += 1
    if len(first_errors) < 5: first_errors.append(msg)
while time.time() < until:
    name = "f%d" % rng.randrange(40)
    p = os.path.join(d, name)
    op = rng.choice(["write", "write", "read", "read", "read", "append", "overwrite", "rename", "unlink", "xattr", "list"])
    try:
        if op == "write" or name not in model and op in ("read", "append", "overwrite", "rename", "unlink", "xattr"):
            data = rng.randbytes(rng.choice([100, 4096, 50000, 300000]))
            with open(p, "wb") as f: f.write(data)
            model[name] = data
        elif op == "read":
            with open(p, "rb") as f: got = f.read()
            if got != model[name]: err("read %s: %d bytes, want %d" % (name, len(got), len(model[name])))
        elif op == "append":
            extra = rng.randbytes(rng.randrange(1, 20000))
            with open(p, "ab") as f: f.write(extra)
            model[name] += extra
        elif op == "overwrite":
            b = bytearray(model[name]); off = rng.randrange(0, len(b) + 1); chunk = rng.randbytes(rng.randrange(1, 5000))
            with open(p, "r+b") as f: f.seek(off); f.write(chunk)
            if off > len(b): b.extend(b"\0" * (off - len(b)))
            b[off:off + len(chunk)] = chunk; model[name] = bytes(b)
        elif op == "rename":
            dst = "f%d" % rng.randrange(40)
            if dst != name:
                os.rename(p, os.path.join(d, dst)); model[dst] = model.pop(name)
        elif op == "unlink":
            os.unlink(p); del model[name]
        elif op == "xattr":
            v = str(rng.randrange(10**9)).encode()
            os.setxattr(p, "user.tag.k", v)
            if os.getxattr(p, "user.tag.k") != v: err("xattr %s" % name)
        elif op == "list":
            got = set(os.listdir(d))
            if got != set(model): err("listing: %d names, want %d" % (len(got), len(model)))
        ops += 1
    except OSError as e:
        err("%s %s: %s" % (op, name, e))
json.dump({"ops": ops, "errors": errors, "first_errors": first_errors}, open(out, "w"))
PY

start=$(date +%s.%N)
rss_start=$(rss "$DAEMON_PID")
until=$(python3 -c "import time; print(time.time() + $DURATION)")
for ((w = 1; w <= WORKERS; w++)); do
  python3 "$WORK/worker.py" "$MNT" "$w" "$until" "$WORK/w$w.json" &
  PIDS+=($!)
done
rss_peak=$rss_start prunes=0 next_prune=20
while python3 -c "import time,sys; sys.exit(0 if time.time() < $until else 1)"; do
  sleep 2
  r=$(rss "$DAEMON_PID"); ((r > rss_peak)) && rss_peak=$r
  el=$(python3 -c "print(int(__import__('time').time() - $start))")
  if ((el >= next_prune)); then "$DOCFS" prune "$STORE" >/dev/null 2>&1 && prunes=$((prunes + 1)); next_prune=$((next_prune + 20)); fi
  kill -0 "$DAEMON_PID" 2>/dev/null || { echo "soak: the daemon died" >&2; tail "$WORK/daemon.log" >&2; exit 1; }
done
for p in "${PIDS[@]}"; do wait "$p" || true; done
PIDS=()
rss_end=$(rss "$DAEMON_PID")
elapsed=$(python3 -c "import time; print('%.1f' % (time.time() - $start))")
read -r ops errors < <(python3 -c '
import json, sys
ops = errs = 0
for f in sys.argv[1:]:
    r = json.load(open(f)); ops += r["ops"]; errs += r["errors"]
    for e in r["first_errors"]: print(e, file=sys.stderr)
print(ops, errs)' "$WORK"/w*.json)
"$DOCFS" umount "$MNT" >/dev/null
wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
fsck=$("$DOCFS" fsck "$STORE" | tail -1)
compactions=$(grep -c "compacted " "$WORK/daemon.log" || true)
echo "soak: ${elapsed}s, $WORKERS workers"
echo "  operations:       $ops ($(python3 -c "print('%.0f' % ($ops / $elapsed))") ops/s)"
echo "  errors:           $errors"
echo "  daemon RSS:       start ${rss_start} KiB, end ${rss_end} KiB, peak ${rss_peak} KiB"
echo "  compactions:      $compactions (docfs prune requests: $prunes)"
echo "  fsck after:       $fsck"
[[ $errors == 0 && $fsck == "store is consistent" ]] || { echo "soak: FAIL" >&2; exit 1; }
echo "soak: PASS"
