#!/usr/bin/env bash
# Shared keys under chaos (issue 17; not in CI):  DURATION=600 scripts/chaos-remote.sh
#
# MOUNTS mounts (4) of their own stores share one S3 test server (s3rver, started here)
# through the fault proxy, which injects a random fault (reset, 503, SlowDown, delay) every
# few seconds. Each mount's worker makes random edits to KEYS shared keys (3) for DURATION
# seconds (600): new files with unique names and contents, overwrites of a few shared
# names, fsync after most writes. Every file whose fsync succeeded is recorded. At the
# end the faults stop, each mount pushes what it still holds, all unmount, every key on the
# remote (conflict keys included) is pulled, and each recorded file must be in one of them
# with its content. Prints edits, fsyncs, conflicts seen, and files lost (must be 0).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DOCFS=${DOCFS:-$root/build/docfs}
DURATION=${DURATION:-600} MOUNTS=${MOUNTS:-4} KEYS=${KEYS:-3}
[[ -x $DOCFS ]] || "$root/scripts/build.sh" >/dev/null
"$root/tests/s3server/install.sh" >/dev/null
WORK=$(mktemp -d "${TMPDIR:-/tmp}/docfs-chaos.XXXXXX")
export HOME=$WORK/home XDG_DATA_HOME=$WORK/xdg
mkdir -p "$HOME"
unset DOCFS_REMOTE AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN || true
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
. "$root/tests/s3server/lib.sh"
PIDS=()
MNTS=()
cleanup() {
  local rc=$? m p
  set +e
  for m in "${MNTS[@]}"; do grep -q " $m fuse" /proc/mounts && fusermount3 -uz "$m"; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  s3_stop 2>/dev/null
  [[ ${KEEP:-0} == 1 ]] && echo "kept $WORK" || rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

s3_start "$WORK/s3" bkt 3
REMOTE=s3://bkt/arrays
PPORT=$(_s3_free_port)
node "$root/tests/faultproxy/faultproxy.js" "$PPORT" "$S3_PORT" >"$WORK/proxy.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PPORT/__fault/stats" >/dev/null && break; sleep 0.1; done

for ((i = 0; i < MOUNTS; i++)); do
  "$DOCFS" init "$WORK/store$i" >/dev/null
  mkdir -p "$WORK/mnt$i"
  "$DOCFS" mount -f "$WORK/store$i" "$WORK/mnt$i" --remote "$REMOTE" \
    -o "remote_endpoint=http://127.0.0.1:$PPORT,remote_ttl=2,push_delay=3" 2>>"$WORK/daemon$i.log" &
  PIDS+=("$!")
  MNTS+=("$WORK/mnt$i")
done
for m in "${MNTS[@]}"; do
  for _ in $(seq 100); do grep -q " $m fuse" /proc/mounts && break; sleep 0.1; done
done
for ((k = 0; k < KEYS; k++)); do mkdir "${MNTS[0]}/.remote/k$k"; done
python3 - "${MNTS[0]}" "$KEYS" <<'PY'
import os, sys
for k in range(int(sys.argv[2])):
    p = f"{sys.argv[1]}/.remote/k{k}/seed.txt"
    with open(p, "w") as f: f.write("seed\n")
    fd = os.open(p, os.O_RDONLY); os.fsync(fd); os.close(fd)
PY

# Faults: one at a time, a few requests each, every 2-6 s.
(
  while true; do
    sleep $((2 + RANDOM % 5))
    case $((RANDOM % 4)) in
      0) f="mode=reset&count=$((1 + RANDOM % 3))" ;;
      1) f="mode=status503&count=$((1 + RANDOM % 3))" ;;
      2) f="mode=slowdown&count=$((1 + RANDOM % 3))" ;;
      3) f="mode=delay&count=1&delay_ms=$((500 + RANDOM % 3000))" ;;
    esac
    curl -sf "http://127.0.0.1:$PPORT/__fault?$f" >/dev/null || true
  done
) &
FAULTS=$!
PIDS+=("$FAULTS")

worker() {  # worker I: edits for DURATION seconds; prints one ledger line per fsync'd file
  python3 - "$1" "${MNTS[$1]}" "$KEYS" "$DURATION" <<'PY'
import errno, os, random, sys, time
me, mnt, keys, duration = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
rnd = random.Random(me * 7919 + int(time.time()))
end = time.time() + duration
n = edits = synced = conflicts = errors = 0
while time.time() < end:
    key = f"k{rnd.randrange(keys)}"
    shared = rnd.random() < 0.2
    name = f"shared{rnd.randrange(3)}.txt" if shared else f"m{me}-{n}.txt"
    body = f"mount {me} edit {n} {rnd.random()}\n"
    n += 1
    path = f"{mnt}/.remote/{key}/{name}"
    try:
        with open(path, "w") as f:
            f.write(body)
        edits += 1
        if rnd.random() < 0.7:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                synced += 1
                if not shared:
                    print(f"L {key} {name} {body.strip()}", flush=True)
            except OSError as e:
                if e.errno == errno.EIO:
                    conflicts += 1  # a conflict (kept in a conflict key) or the remote down
                else:
                    errors += 1
            finally:
                os.close(fd)
    except OSError:
        errors += 1  # e.g. the key is being re-pulled after a conflict
    time.sleep(rnd.random() * 0.2)
print(f"S {me} edits={edits} fsynced={synced} eio={conflicts} other_errors={errors}", flush=True)
PY
}

for ((i = 0; i < MOUNTS; i++)); do worker "$i" >"$WORK/ledger$i" & WPIDS[$i]=$!; done
for ((i = 0; i < MOUNTS; i++)); do wait "${WPIDS[$i]}"; done
kill "$FAULTS" 2>/dev/null; wait "$FAULTS" 2>/dev/null || true
curl -sf "http://127.0.0.1:$PPORT/__fault?mode=none&count=0" >/dev/null

# Every mount pushes what it still has (fsync of each key until it succeeds or gives up).
for m in "${MNTS[@]}"; do
  for ((k = 0; k < KEYS; k++)); do
    for _ in 1 2 3; do
      python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)" "$m/.remote/k$k/seed.txt" 2>/dev/null && break
      sleep 1
    done
  done
done
for m in "${MNTS[@]}"; do timeout 120 "$DOCFS" umount "$m" || fusermount3 -uz "$m"; done

# Pull every key, then look for each recorded file.
export AWS_ENDPOINT_URL=$S3_ENDPOINT
mapfile -t keys < <("$DOCFS" keys --remote "$REMOTE" | awk '$1 ~ /^k[0-9]/ {print $1}')
mkdir -p "$WORK/pulled"
bad_keys=0
for key in "${keys[@]}"; do
  "$DOCFS" pull "$key" "$WORK/pulled/$key" --remote "$REMOTE" --quiet >/dev/null || { bad_keys=$((bad_keys + 1)); echo "UNREADABLE: $key"; }
done
export BAD_KEYS=$bad_keys
DOCFS=$DOCFS python3 - "$WORK" "${keys[@]}" <<'PY'
import glob, json, os, subprocess, sys
work, keys = sys.argv[1], sys.argv[2:]
docfs = os.environ["DOCFS"]
have = {}
for key in keys:  # one export per key: every document with its content
    if not os.path.isdir(f"{work}/pulled/{key}"):
        continue
    base = key.split(".conflict-")[0]
    out = subprocess.run([docfs, "export", f"{work}/pulled/{key}"], capture_output=True, text=True, check=True).stdout
    for d in json.loads(out):
        if d["id"].startswith("m"):
            have.setdefault((base, d["id"]), set()).add(d.get("text", "").strip())
lost = total = 0
stats = []
for ledger in sorted(glob.glob(f"{work}/ledger*")):
    for line in open(ledger):
        if line.startswith("S "):
            stats.append(line.strip()[2:])
            continue
        _, key, name, body = line.rstrip("\n").split(" ", 3)
        total += 1
        if body not in have.get((key, name), set()):
            lost += 1
            print(f"LOST: {key}/{name}: {body}")
conflict_keys = sum(".conflict-" in k for k in keys)
print("| what | value |\n|---|---|")
for s in stats:
    print(f"| mount {s.split()[0]} | {' '.join(s.split()[1:])} |")
print(f"| keys on the remote | {len(keys)} ({conflict_keys} conflict keys) |")
print(f"| fsync'd files checked | {total} |")
print(f"| keys that could not be pulled | {os.environ.get('BAD_KEYS', '0')} |")
print(f"| files lost | {lost} |")
sys.exit(1 if lost or os.environ.get('BAD_KEYS', '0') != '0' else 0)
PY
