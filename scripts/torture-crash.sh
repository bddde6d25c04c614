#!/usr/bin/env bash
# Crash-consistency torture against a real mount:  scripts/torture-crash.sh [COUNT]
#
# Each trial mounts the store with `docfs mount -f` (so we know the daemon's PID), starts
# WRITERS writer processes (Python, below) that drive the mount hard — create, overwrite
# (O_TRUNC), pwrite at random offsets, append, ftruncate, rename (also over existing files),
# unlink, symbolic links (relative, absolute, dangling, up to 2,000 bytes; renamed and
# unlinked like files), hard links (link(2); a change through one name is a change of all of them, and
# after the remount the names of each acknowledged link must still be one inode), set/remove
# user.tag.* xattrs, fsync on a random subset; and large files (1-12 MiB)
# changed in place: one open, several rounds of partial overwrites, appends or truncates
# (down, or up leaving a hole), each round acknowledged by its fsync — and kills the daemon
# with SIGKILL at a random moment. Each writer logs, to a file OUTSIDE the mount, the
# intent of every operation before it starts and an ack once it was acknowledged (fsync,
# close, rename, unlink, setxattr returned: docfs commits on close and writes header
# entries before replying, so a daemon kill — not a power cut — cannot lose them).
# Then the store is remounted and every path the writers used is compared with the model:
# an acknowledged state must read back byte-identical with its tags; the one operation in
# flight per writer may show its old or its new state (all of its paths together) —
# never a mix, never half-written; nothing else may appear. Then `docfs fsck` must say
# "store is consistent".
#   Trial kinds (rotating): plain; prune (online compaction with tiny thresholds and
#   `docfs prune STORE` in a loop while writing); pull (`docfs pull KEY STORE2` from a
#   file:// remote killed at a random moment: STORE2 must be absent, the old array or the
#   new one, whole, and open).
# Prints trials, documents checked, documents lost, stores that failed to open; exits 1 if
# any document was lost or any store failed to open.
#
# Environment: DOCFS (binary; default build-rel/docfs), WRITERS (3), KILL_MIN_MS (150),
# KILL_MAX_MS (1200), KEEP_WORK=1 (keep the work dir), TORTURE_SEED, TORTURE_VERBOSE=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${1:-${COUNT:-200}}
DOCFS=${DOCFS:-$root/build-rel/docfs}
WRITERS=${WRITERS:-3}
KILL_MIN_MS=${KILL_MIN_MS:-150}
KILL_MAX_MS=${KILL_MAX_MS:-1200}
SEED=${TORTURE_SEED:-$RANDOM}
[[ -x $DOCFS ]] || { echo "torture-crash: no docfs binary at $DOCFS (set DOCFS)" >&2; exit 2; }
RANDOM=$SEED

WORK=$(mktemp -d "${TMPDIR:-/tmp}/docfs-torture.XXXXXX")
STORE=$WORK/store
MNT=$WORK/mnt
mkdir -p "$MNT"
# A private copy of the binary (a rebuild during a long run must not swap it), the real
# python (not a pyenv shim: it starts several times per trial), and no user settings.
cp "$DOCFS" "$WORK/docfs"
DOCFS=$WORK/docfs
PY=$(python3 -c 'import sys; print(sys.executable)')
export XDG_DATA_HOME=$WORK/xdg
unset DOCFS_REMOTE
DAEMON_PID=
PIDS=()  # every background process we started and still may have to stop

cleanup() {
  local rc=$?
  set +e
  if grep -q " $MNT fuse" /proc/mounts 2>/dev/null; then fusermount3 -uz "$MNT" 2>/dev/null; fi
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [[ ${KEEP_WORK:-0} == 1 || $rc -ne 0 && -n ${KEEP_WORK_ON_FAIL:-} ]]; then
    echo "work dir kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { [[ ${TORTURE_VERBOSE:-0} == 1 ]] && echo "$*" >&2 || true; }

# ------------------------------------------------------------------ the writer and checker
cat >"$WORK/writer.py" <<'PY'
import errno, hashlib, json, os, random, sys
top, logpath, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
log = open(logpath, "a", buffering=1)
NAMES = ["f%d" % i for i in range(24)] + ["sub/g%d" % i for i in range(8)] + ["sub/deep/h%d" % i for i in range(4)]
BIG_NAMES = ["big/b0", "big/b1"]  # large files changed in place (issue 16); renames move them anywhere
BIG = 1 << 20  # "large": a file at least this big gets partial changes with fsync
TAGS = ["a", "b", "c"]
state = {}  # rel -> [bytes, {tag: value}], or [None, {}, target] for a symbolic link
group = {}  # rel -> the set of names of its file, shared by them (hard links); absent: one name

def desc(s):
    if s is None:
        return None
    if s[0] is None:
        return {"symlink": s[2]}
    return {"sha": hashlib.sha256(s[0]).hexdigest(), "size": len(s[0]), "tags": dict(s[1])}

def emit(**kw):
    log.write(json.dumps(kw, sort_keys=True) + "\n")

def p(rel):
    return os.path.join(top, rel)

# The verified state of the previous trial is the base of this one.
os.makedirs(top, exist_ok=True)
for d, _, files in os.walk(top):
    for f in files:
        full = os.path.join(d, f)
        rel = os.path.relpath(full, top)
        if os.path.islink(full):
            state[rel] = [None, {}, os.readlink(full)]
            continue
        with open(full, "rb") as fh:
            data = fh.read()
        tags = {k[9:]: os.getxattr(full, k).decode() for k in os.listxattr(full) if k.startswith("user.tag.")}
        state[rel] = [data, tags]
        st = os.lstat(full)
        group.setdefault((st.st_dev, st.st_ino), set()).add(rel)
for key in [k for k in group if isinstance(k, tuple)]:
    names = group.pop(key)
    if len(names) > 1:
        for n in names:
            group[n] = names
emit(t="base", states={k: desc(v) for k, v in state.items()})
open(logpath + ".ready", "w").close()

seq = 0
def intent(op, new, extra=None):
    global seq
    seq += 1
    emit(t="intent", seq=seq, op=op, new={k: desc(v) for k, v in new.items()},
         extra=[{k: desc(v) for k, v in e.items()} for e in (extra or [])])
    return seq

def ack(s, new):
    emit(t="ack", seq=s)
    for k, v in new.items():
        if v is None:
            state.pop(k, None)
        else:
            state[k] = v

def names_of(rel):
    return sorted(group.get(rel, {rel}))

def with_names(rel, data, tags):
    # A change through one name is a change of every name of that file.
    return {n: [data, dict(tags)] for n in names_of(rel)}

def detach(rel):
    g = group.pop(rel, None)
    if g is not None:
        g.discard(rel)
        if len(g) == 1:
            group.pop(next(iter(g)), None)

def emit_groups():
    seen = []
    for g in group.values():
        if g not in seen:
            seen.append(g)
    emit(t="groups", groups=[sorted(g) for g in seen])
emit_groups()

def rand_bytes(n):
    return rng.randbytes(n) if rng.random() < 0.7 else bytes([rng.randrange(256)]) * n

def write_all(fd, data):
    i = 0
    while i < len(data):
        n = rng.choice([4096, 65536, 131072, 1 << 20])
        i += os.write(fd, data[i:i + n])

def finish(fd, s, new):
    # fsync on a random subset acknowledges before close; close acknowledges otherwise.
    if rng.random() < 0.3:
        os.fsync(fd)
        ack(s, new)
        os.close(fd)
    else:
        os.close(fd)
        ack(s, new)

def size_choice():
    r = rng.random()
    if r < 0.1: return 0
    if r < 0.6: return rng.randrange(1, 4096)
    if r < 0.95: return rng.randrange(4096, 200000)
    return rng.randrange(200000, 3 << 20)

try:
    while True:
        present = sorted(state)
        regular = [n for n in present if state[n][0] is not None]
        absent = [n for n in NAMES if n not in state]
        big = [n for n in regular if len(state[n][0]) >= BIG]
        big_absent = [n for n in BIG_NAMES if n not in state]
        ops = ["create"] * 4 if absent else []
        if regular:
            ops += ["trunc"] * 2 + ["pwrite"] * 3 + ["append"] * 2 + ["ftrunc", "setx", "setx", "rmx"]
            if absent:
                ops += ["link", "link"]
        if present:
            ops += ["rename", "rename", "unlink"]
        if absent:
            ops += ["symlink"]
        if big_absent and len(big) < 2:
            ops += ["bigcreate"] * 2
        if big:
            ops += ["bigmod"] * 4
        op = rng.choice(ops)
        if op == "bigcreate":
            # A large file, acknowledged by fsync.
            rel = rng.choice(big_absent)
            data = rand_bytes(rng.randrange(BIG, 12 << 20))
            new = {rel: [data, {}]}
            s = intent(op, new, extra=[{rel: [b"", {}]}])
            os.makedirs(os.path.dirname(p(rel)), exist_ok=True)
            fd = os.open(p(rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            write_all(fd, data)
            os.fsync(fd)
            ack(s, new)
            os.close(fd)
            continue
        if op == "bigmod":
            # One open of a large file, several rounds of partial overwrites, appends and
            # truncates (down, or up: a hole), each round acknowledged by its fsync; the
            # close after the last fsync commits nothing new.
            rel = rng.choice(big)
            fd = os.open(p(rel), os.O_RDWR)
            for _ in range(rng.randrange(1, 5)):
                old, tags = state[rel]
                buf = bytearray(old)
                kind = rng.choice(["pwrite", "pwrite", "append", "truncate"])
                steps = []
                if kind == "pwrite":
                    for _ in range(rng.randrange(1, 9)):
                        off = rng.randrange(0, len(buf) + 4096)
                        chunk = rand_bytes(rng.choice([4096, rng.randrange(1, 65536)]))
                        if off > len(buf):
                            buf.extend(b"\0" * (off - len(buf)))
                        buf[off:off + len(chunk)] = chunk
                        steps.append(("w", off, chunk))
                elif kind == "append":
                    chunk = rand_bytes(rng.randrange(1, 65536))
                    steps.append(("w", len(buf), chunk))
                    buf.extend(chunk)
                else:
                    n = max(0, len(buf) + rng.randrange(-(1 << 20), 1 << 20))
                    buf = bytearray(bytes(buf[:n]) + b"\0" * max(0, n - len(buf)))
                    steps.append(("t", n, None))
                new = with_names(rel, bytes(buf), tags)
                s = intent("big" + kind, new)
                for what, off, chunk in steps:
                    if what == "w":
                        os.pwrite(fd, chunk, off)
                    else:
                        os.ftruncate(fd, off)
                os.fsync(fd)
                ack(s, new)
            os.close(fd)
            continue
        if op == "create":
            rel = rng.choice(absent)
            data = rand_bytes(size_choice())
            new = {rel: [data, {}]}
            s = intent(op, new, extra=[{rel: [b"", {}]}])  # O_CREAT may show an empty file
            os.makedirs(os.path.dirname(p(rel)) or top, exist_ok=True)
            fd = os.open(p(rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            write_all(fd, data)
            finish(fd, s, new)
            continue
        if op == "symlink":
            # Relative, absolute or dangling, up to 2,000 bytes; never a directory's name.
            rel = rng.choice(absent)
            target = rng.choice(["f%d" % rng.randrange(30), "../f%d" % rng.randrange(30), "/nowhere/" + "x" * rng.randrange(1, 2000)])
            new = {rel: [None, {}, target]}
            s = intent(op, new)
            os.makedirs(os.path.dirname(p(rel)) or top, exist_ok=True)
            os.symlink(target, p(rel))
            ack(s, new)
            continue
        rel = rng.choice(present if op in ("rename", "unlink") else regular)
        old, tags = state[rel][0], state[rel][1]
        if op == "trunc":
            data = rand_bytes(size_choice())
            new = with_names(rel, data, tags)
            s = intent(op, new)
            fd = os.open(p(rel), os.O_WRONLY | os.O_TRUNC)
            write_all(fd, data)
            finish(fd, s, new)
        elif op == "pwrite":
            buf = bytearray(old)
            fd = None
            writes = []
            for _ in range(rng.randrange(1, 5)):
                off = rng.randrange(0, len(buf) + 8192)
                chunk = rand_bytes(rng.randrange(1, 40000))
                if off > len(buf):
                    buf.extend(b"\0" * (off - len(buf)))
                buf[off:off + len(chunk)] = chunk
                writes.append((off, chunk))
            new = with_names(rel, bytes(buf), tags)
            s = intent(op, new)
            fd = os.open(p(rel), os.O_RDWR)
            for off, chunk in writes:
                os.pwrite(fd, chunk, off)
            finish(fd, s, new)
        elif op == "append":
            chunk = rand_bytes(rng.randrange(1, 60000))
            new = with_names(rel, old + chunk, tags)
            s = intent(op, new)
            fd = os.open(p(rel), os.O_WRONLY | os.O_APPEND)
            write_all(fd, chunk)
            finish(fd, s, new)
        elif op == "ftrunc":
            n = rng.randrange(0, len(old) + 10000)
            new = with_names(rel, old[:n] + b"\0" * max(0, n - len(old)), tags)
            s = intent(op, new)
            fd = os.open(p(rel), os.O_RDWR)
            os.ftruncate(fd, n)
            finish(fd, s, new)
        elif op == "rename":
            dst = rng.choice([n for n in NAMES if n != rel])
            if dst in group.get(rel, ()):  # two names of one file: rename(2) does nothing
                continue
            new = {rel: None, dst: list(state[rel])}
            s = intent(op, new)
            os.makedirs(os.path.dirname(p(dst)) or top, exist_ok=True)
            os.rename(p(rel), p(dst))
            detach(dst)
            g = group.pop(rel, None)
            if g is not None:
                g.discard(rel)
                g.add(dst)
                group[dst] = g
            emit_groups()
            ack(s, new)
        elif op == "link":
            dst = rng.choice(absent)
            new = {dst: [old, dict(tags)]}
            s = intent(op, new)
            os.makedirs(os.path.dirname(p(dst)) or top, exist_ok=True)
            os.link(p(rel), p(dst))
            g = group.get(rel) or {rel}
            g.add(dst)
            for n in g:
                group[n] = g
            emit_groups()
            ack(s, new)
        elif op == "unlink":
            new = {rel: None}
            s = intent(op, new)
            os.unlink(p(rel))
            detach(rel)
            emit_groups()
            ack(s, new)
        elif op == "setx":
            t = dict(tags)
            k = rng.choice(TAGS)
            t[k] = "v%d-%s" % (rng.randrange(1000000), "x" * rng.randrange(0, 300))
            new = with_names(rel, old, t)
            s = intent(op, new)
            os.setxattr(p(rel), "user.tag." + k, t[k].encode())
            ack(s, new)
        elif op == "rmx":
            if not tags:
                continue
            t = dict(tags)
            k = rng.choice(sorted(t))
            del t[k]
            new = with_names(rel, old, t)
            s = intent(op, new)
            os.removexattr(p(rel), "user.tag." + k)
            ack(s, new)
except OSError as e:
    emit(t="error", seq=seq, errno=e.errno, msg=str(e))
PY

cat >"$WORK/check.py" <<'PY'
# check.py TOP LOG... : compares the mount under TOP with the writers' logs.
# Prints one JSON line: {"checked": N, "lost": N, "problems": [...], "inflight_new": N, ...}
import hashlib, json, os, sys
top, logs = sys.argv[1], sys.argv[2:]
out = {"checked": 0, "lost": 0, "problems": [], "inflight_old": 0, "inflight_new": 0, "inflight_empty": 0,
       "errors": [], "link_groups": 0, "broken_links": 0}

def actual(full):
    if not os.path.lexists(full):
        return None
    if os.path.islink(full):
        return {"symlink": os.readlink(full)}
    try:
        with open(full, "rb") as fh:
            data = fh.read()
        tags = {k[9:]: os.getxattr(full, k).decode() for k in os.listxattr(full) if k.startswith("user.tag.")}
    except OSError as e:
        return {"error": str(e)}
    return {"sha": hashlib.sha256(data).hexdigest(), "size": len(data), "tags": tags}

for logpath in logs:
    wdir = os.path.join(top, os.path.basename(logpath)[:-4])  # w1.log -> TOP/w1
    acked, pending, groups = {}, None, []
    with open(logpath) as fh:
        for line in fh:
            try:
                r = json.loads(line)
            except ValueError:
                out["problems"].append("%s: unparsable log line %r" % (logpath, line[:80])); continue
            if r["t"] == "base":
                acked = dict(r["states"]); pending = None
            elif r["t"] == "intent":
                pending = r
            elif r["t"] == "ack":
                assert pending and pending["seq"] == r["seq"], (logpath, r)
                acked.update(pending["new"]); pending = None
            elif r["t"] == "groups":
                groups = r["groups"]
            elif r["t"] == "error":
                if pending is None or r["seq"] != pending["seq"]:
                    pass
                if r["errno"] not in (107, 103, 5, 57):  # ENOTCONN, ECONNABORTED, EIO
                    out["errors"].append("%s: %s" % (logpath, r["msg"]))
    seen = set()
    for d, _, files in os.walk(wdir):
        for f in files:
            seen.add(os.path.relpath(os.path.join(d, f), wdir))
    paths = set(k for k, v in acked.items() if v is not None) | seen
    if pending:
        paths |= set(pending["new"])
    got = {k: actual(os.path.join(wdir, k)) for k in paths}
    inflight = set(pending["new"]) if pending else set()
    for k in sorted(paths - inflight):
        out["checked"] += 1
        want = acked.get(k)
        if got[k] != want:
            out["lost"] += 1
            out["problems"].append("%s/%s: want %s, got %s" % (os.path.basename(wdir), k, json.dumps(want), json.dumps(got[k])))
    if pending:
        out["checked"] += len(inflight)
        old = {k: acked.get(k) for k in inflight}
        alts = [("old", old), ("new", pending["new"])] + [("empty", dict(old, **e)) for e in pending["extra"]]
        now = {k: got[k] for k in inflight}
        match = [name for name, alt in alts if alt == now]
        if match:
            out["inflight_" + match[0]] += 1
        else:
            out["lost"] += len(inflight)
            out["problems"].append("%s in-flight %s #%d: got %s; allowed old %s / new %s" % (
                os.path.basename(wdir), pending["op"], pending["seq"], json.dumps(now), json.dumps(old),
                json.dumps(pending["new"])))
    # Names of one file (acknowledged links) are still one file: one inode. An op in flight
    # may have renamed or unlinked one of them: those groups are left out.
    for g in groups:
        if pending and any(n in pending["new"] for n in g):
            continue
        out["link_groups"] += 1
        inos = set()
        for n in g:
            try:
                inos.add(os.lstat(os.path.join(wdir, n)).st_ino)
            except OSError:
                inos.add(None)
        if len(inos) != 1 or None in inos:
            out["broken_links"] += 1
            out["problems"].append("%s: names %s of one file are no longer one file" % (os.path.basename(wdir), g))
print(json.dumps(out))
PY

# ------------------------------------------------------------------ helpers
rand_ms() { echo $((RANDOM % ($2 - $1 + 1) + $1)); }  # rand_ms MIN MAX
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

mount_fg() {  # mount_fg [OPTIONS]: sets DAEMON_PID
  "$DOCFS" mount -f "$STORE" "$MNT" "$@" 2>>"$WORK/daemon.log" &
  DAEMON_PID=$!
  PIDS+=("$DAEMON_PID")
  local i
  for ((i = 0; i < 400; i++)); do
    grep -q " $MNT fuse" /proc/mounts && return 0
    kill -0 "$DAEMON_PID" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}

unmount_clean() {  # a live mount: docfs umount waits for the store lock
  "$DOCFS" umount "$MNT" >/dev/null 2>&1 || fusermount3 -uz "$MNT" 2>/dev/null || true
  wait "$DAEMON_PID" 2>/dev/null || true
  forget "$DAEMON_PID"
}

forget() { local p=$1 i; for i in "${!PIDS[@]}"; do [[ ${PIDS[$i]} == "$p" ]] && unset 'PIDS[i]'; done; return 0; }

fingerprint() { "$DOCFS" export "$1" 2>/dev/null | sha256sum | cut -d' ' -f1; }

# ------------------------------------------------------------------ pull fixtures
REMOTE=file://$WORK/remote
mkdir -p "$WORK/remote"
make_array() {  # make_array DIR COUNT SIZE
  local dir=$1 n=$2 size=$3 src=$WORK/src i
  rm -rf "$src"; mkdir -p "$src"
  for ((i = 0; i < n; i++)); do head -c "$size" /dev/urandom >"$src/d$i"; done
  "$DOCFS" init "$dir" >/dev/null
  "$DOCFS" put "$dir" "$src"/* >/dev/null
  rm -rf "$src"
}
make_array "$WORK/arrA" 12 700000
make_array "$WORK/arrB" 20 900000
"$DOCFS" push "$WORK/arrA" keyA --remote "$REMOTE" -q
"$DOCFS" push "$WORK/arrB" keyB --remote "$REMOTE" -q
FP_A=$(fingerprint "$WORK/arrA")
FP_B=$(fingerprint "$WORK/arrB")
STORE2=$WORK/store2

# ------------------------------------------------------------------ trials
link_groups=0 broken_links=0 symlink_ops=0 link_ops=0
trials=0 checked=0 lost=0 failed_open=0 inflight_new=0 inflight_old=0 inflight_empty=0
big_ops=0 pulls=0 pull_absent=0 pull_old=0 pull_new=0 pull_done=0 pull_leftovers=0 writer_errors=0 fsck_bad=0
started=$(date +%s.%N)
"$DOCFS" init "$STORE" >/dev/null
echo "torture-crash: $COUNT trials, $WRITERS writers, seed $SEED, docfs $DOCFS"

for ((trial = 1; trial <= COUNT; trial++)); do
  kind=plain
  case $((trial % 3)) in 1) kind=plain ;; 2) kind=prune ;; 0) kind=pull ;; esac
  # A fresh store every 25 trials keeps trials fast; otherwise state carries over.
  if ((trial % 25 == 1 && trial > 1)); then rm -rf "$STORE"; "$DOCFS" init "$STORE" >/dev/null; fi
  opts=()
  [[ $kind == prune ]] && opts=(-o compact_min=64K,compact_ratio=0.1,compact_interval=0.1)
  if ! mount_fg "${opts[@]}"; then
    echo "trial $trial: the store failed to mount before the writers started" >&2
    tail -5 "$WORK/daemon.log" >&2
    failed_open=$((failed_open + 1)); break
  fi
  rm -f "$WORK"/w*.log "$WORK"/w*.log.ready
  wpids=()
  for ((w = 1; w <= WRITERS; w++)); do
    "$PY" "$WORK/writer.py" "$MNT/w$w" "$WORK/w$w.log" $((SEED * 1000 + trial * 10 + w)) 2>>"$WORK/writer.err" &
    wpids+=($!); PIDS+=($!)
  done
  # The kill countdown starts once every writer has logged its base state.
  for ((i = 0; i < 500; i++)); do
    n=0; for ((w = 1; w <= WRITERS; w++)); do [[ -e $WORK/w$w.log.ready ]] && n=$((n + 1)); done
    ((n == WRITERS)) && break; sleep 0.01
  done
  prune_pid=
  if [[ $kind == prune ]]; then
    # SIGTERM stops the loop and SIGKILLs the prune it is running: a prune left behind
    # would find the daemon gone, prune offline and hold the store's lock at remount.
    (c=; trap '[[ -n $c ]] && kill -9 $c 2>/dev/null; exit 0' TERM
     while true; do "$DOCFS" prune "$STORE" >/dev/null 2>&1 & c=$!; echo $c >"$WORK/prune.pid"; wait $c; sleep 0.05; done) &
    prune_pid=$!; PIDS+=("$prune_pid")
  fi
  pull_pid=
  if [[ $kind == pull ]]; then
    pulls=$((pulls + 1))
    # Alternate: pull into an absent destination, or replace an existing older array.
    if ((pulls % 2)); then rm -rf "$STORE2"; pull_key=keyA; before=absent
    else
      if [[ ! -d $STORE2 ]] || [[ $(fingerprint "$STORE2") != "$FP_A" ]]; then
        rm -rf "$STORE2"; "$DOCFS" pull keyA "$STORE2" --remote "$REMOTE" -q >/dev/null
      fi
      pull_key=keyB; before=$FP_A
    fi
    "$DOCFS" pull "$pull_key" "$STORE2" --remote "$REMOTE" -q >/dev/null 2>>"$WORK/pull.err" &
    pull_pid=$!; PIDS+=("$pull_pid")
    pull_kill_ms=$(rand_ms 1 80)  # a pull from file:// takes about 60 ms
  fi
  kill_ms=$(rand_ms "$KILL_MIN_MS" "$KILL_MAX_MS")
  pull_rc=
  if [[ -n $pull_pid ]]; then
    if ((pull_kill_ms < kill_ms)); then
      sleep_ms "$pull_kill_ms"; kill -9 "$pull_pid" 2>/dev/null || true
      pull_rc=0; { wait "$pull_pid"; } 2>/dev/null || pull_rc=$?
      sleep_ms $((kill_ms - pull_kill_ms))
    else
      sleep_ms "$kill_ms"; kill -9 "$pull_pid" 2>/dev/null || true
    fi
  else
    sleep_ms "$kill_ms"
  fi
  kill -9 "$DAEMON_PID" 2>/dev/null || true
  { wait "$DAEMON_PID"; } 2>/dev/null || true
  forget "$DAEMON_PID"
  if [[ -n $prune_pid ]]; then
    kill -TERM "$prune_pid" 2>/dev/null || true; { wait "$prune_pid"; } 2>/dev/null || true; forget "$prune_pid"
    # Belt and braces: the last prune the loop started (our own child's child, by PID).
    p=$(cat "$WORK/prune.pid" 2>/dev/null || true)
    if [[ -n $p ]] && grep -q prune "/proc/$p/cmdline" 2>/dev/null; then kill -9 "$p" 2>/dev/null || true; fi
    for ((i = 0; i < 100; i++)); do [[ -n $p && -e /proc/$p ]] || break; sleep 0.02; done
    rm -f "$WORK/prune.pid"
  fi
  for p in "${wpids[@]}"; do { wait "$p"; } 2>/dev/null || true; forget "$p"; done
  fusermount3 -uz "$MNT" 2>/dev/null || true
  if [[ -n $pull_pid ]]; then
    rc=$pull_rc
    if [[ -z $rc ]]; then rc=0; { wait "$pull_pid"; } 2>/dev/null || rc=$?; fi
    forget "$pull_pid"
    # A pull killed after its rename may leave its temporary directory (the old store) behind.
    for d in "$WORK"/.store2.pull-*; do [[ -e $d ]] && { pull_leftovers=$((pull_leftovers + 1)); rm -rf "$d"; }; done
    [[ $rc == 0 ]] && pull_done=$((pull_done + 1))
    if [[ ! -e $STORE2 ]]; then
      r=absent
    elif ! "$DOCFS" fsck "$STORE2" >/dev/null 2>&1; then
      r=unopenable
    else
      fp=$(fingerprint "$STORE2")
      if [[ $fp == "$FP_A" && $pull_key == keyA ]] || [[ $fp == "$FP_B" && $pull_key == keyB ]]; then r=new
      elif [[ $fp == "$before" ]]; then r=old
      else r=mixed; fi
    fi
    say "trial $trial: pull of $pull_key killed after ${pull_kill_ms}ms (before: ${before:0:8}): $r"
    case $r in
      absent) if [[ $before == absent ]]; then pull_absent=$((pull_absent + 1)); else lost=$((lost + 1)); echo "trial $trial: pull killed: the old store vanished" >&2; fi ;;
      old) pull_old=$((pull_old + 1)) ;;
      new) pull_new=$((pull_new + 1)) ;;
      unopenable) failed_open=$((failed_open + 1)); echo "trial $trial: pull killed: $STORE2 does not open: $("$DOCFS" fsck "$STORE2" 2>&1 | tail -3)" >&2 ;;
      *) lost=$((lost + 1)); echo "trial $trial: pull killed: $STORE2 is neither the old nor the new array" >&2 ;;
    esac
  fi

  # Remount (the writable open drops torn tails), compare, unmount, fsck. A process that
  # held the lock (the killed daemon, a killed prune) may still be exiting: the kernel
  # drops its flock only when its files are closed, so retry briefly on "locked by pid".
  mounted=0
  for ((i = 0; i < 50; i++)); do
    log_size=$(stat -c %s "$WORK/daemon.log" 2>/dev/null || echo 0)
    if mount_fg; then mounted=1; break; fi
    tail -c +$((log_size + 1)) "$WORK/daemon.log" | grep -q 'locked by pid' || break
    forget "$DAEMON_PID"
    sleep 0.1
  done
  if ((!mounted)); then
    echo "trial $trial ($kind): the store FAILED TO OPEN after the kill:" >&2
    if p=$(grep -o 'locked by pid [0-9]*' "$WORK/daemon.log" | tail -1 | grep -o '[0-9]*$'); then
      echo "  lock holder $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" >&2
    fi
    tail -5 "$WORK/daemon.log" >&2
    "$DOCFS" fsck "$STORE" >&2 || true
    failed_open=$((failed_open + 1)); break
  fi
  res=$("$PY" "$WORK/check.py" "$MNT" "$WORK"/w*.log)
  big_ops=$((big_ops + $(cat "$WORK"/w*.log | grep -c '"op": "big' || true)))
  symlink_ops=$((symlink_ops + $(cat "$WORK"/w*.log | grep -c '"op": "symlink"' || true)))
  link_ops=$((link_ops + $(cat "$WORK"/w*.log | grep -c '"op": "link"' || true)))
  unmount_clean
  read -r c l inew iold iempty nerr lg bl < <("$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["checked"], r["lost"], r["inflight_new"], r["inflight_old"], r["inflight_empty"], len(r["errors"]), r["link_groups"], r["broken_links"])' "$res")
  link_groups=$((link_groups + lg)); broken_links=$((broken_links + bl))
  checked=$((checked + c)); lost=$((lost + l)); inflight_new=$((inflight_new + inew))
  inflight_old=$((inflight_old + iold)); inflight_empty=$((inflight_empty + iempty)); writer_errors=$((writer_errors + nerr))
  if ((l > 0 || nerr > 0 || bl > 0)); then
    echo "trial $trial ($kind, kill at ${kill_ms}ms):" >&2
    "$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); [print("  " + p[:600], file=sys.stderr) for p in r["problems"] + r["errors"]]' "$res"
    if [[ -n ${KEEP_WORK_ON_FAIL:-} ]]; then cp -r "$STORE" "$WORK/failed-store-$trial"; cp "$WORK"/w*.log "$WORK/failed-store-$trial/"; fi
  fi
  if ! fsck_out=$("$DOCFS" fsck "$STORE" 2>&1) || ! grep -q "store is consistent" <<<"$fsck_out"; then
    fsck_bad=$((fsck_bad + 1)); failed_open=$((failed_open + 1))
    echo "trial $trial: fsck after remount+unmount is not clean:" >&2; echo "$fsck_out" | tail -5 >&2
  fi
  trials=$((trial))
  say "trial $trial ($kind, kill ${kill_ms}ms): checked $c lost $l in-flight new/old/empty $inew/$iold/$iempty"
  ((trial % 20 == 0)) && echo "  ... $trial trials, $checked documents checked, $lost lost, $failed_open failed opens"
done

elapsed=$("$PY" -c "import time; print('%.1f' % (time.time() - $started))")
echo "torture-crash results (seed $SEED, ${elapsed}s):"
echo "  trials run:                  $trials"
echo "  documents checked:           $checked"
echo "  documents lost:              $lost"
echo "  stores that failed to open:  $failed_open  (fsck not clean: $fsck_bad)"
echo "  in-flight ops seen new/old/empty-create: $inflight_new/$inflight_old/$inflight_empty"
echo "  large-file changes started:  $big_ops (creates, and in-place rounds each ending in fsync)"
echo "  pulls killed: $pulls (dest absent $pull_absent, old $pull_old, new $pull_new; finished before the kill $pull_done)"
echo "  online compactions completed: $(grep -c "compacted " "$WORK/daemon.log" || true)"
echo "  pull temp dirs left behind by a killed pull: $pull_leftovers"
echo "  links made: $link_ops hard, $symlink_ops symbolic; hard-link groups checked after remounts: $link_groups (broken: $broken_links)"
echo "  unexpected writer errors:    $writer_errors"
if ((lost > 0 || broken_links > 0 || failed_open > 0 || writer_errors > 0 || trials < COUNT)); then
  echo "torture-crash: FAIL" >&2
  exit 1
fi
echo "torture-crash: PASS"
