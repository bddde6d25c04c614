# The two-mount conflict of issue 17, shared by tests/fs/test_remote_conflict_*.sh. Source
# after lib.sh and remote_lib.sh; the mounts must log to $WORK/daemon.log (mount_fg).

# fsync_rc PATH: fsyncs PATH; exit 0, or 5 when fsync fails with EIO (anything else: 1).
fsync_rc() {
  python3 - "$1" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    os.fsync(fd)
except OSError as e:
    sys.exit(5 if e.errno == errno.EIO else 1)
sys.exit(0)
PY
}

# two_mount_conflict MA MB MODE: MODE "together" fsyncs both at once, "ordered" A then B.
# Sets WINNER, LOSER (mount points) and CKEY (the conflict key).
two_mount_conflict() {
  local ma=$1 mb=$2 mode=$3 ra=0 rb=0
  check "mkdir k on A" mkdir "$ma/.remote/k"
  echo base >"$ma/.remote/k/base.txt"
  check "A pushes the base version (fsync)" fsync_rc "$ma/.remote/k/base.txt"
  check "B reads the base version" test "$(cat "$mb/.remote/k/base.txt")" = base
  check "B's copy is clean" test "$(key_status "$mb/.remote/k")" = clean

  # Both change k: a file of their own and the same file.
  echo "only on A" >"$ma/.remote/k/a.txt"
  echo "only on B" >"$mb/.remote/k/b.txt"
  echo "A's version" >"$ma/.remote/k/same.txt"
  echo "B's version" >"$mb/.remote/k/same.txt"
  if [[ $mode == together ]]; then
    fsync_rc "$ma/.remote/k/same.txt" & local pa=$!
    fsync_rc "$mb/.remote/k/same.txt" & local pb=$!
    wait $pa || ra=$?
    wait $pb || rb=$?
  else
    fsync_rc "$ma/.remote/k/same.txt" || ra=$?
    fsync_rc "$mb/.remote/k/same.txt" || rb=$?
  fi
  echo "# fsync on A: exit $ra, on B: exit $rb"
  if [[ $ra == 0 && $rb == 5 ]]; then
    WINNER=$ma LOSER=$mb WTEXT="A's version" LTEXT="B's version" WOWN=a.txt LOWN=b.txt
  elif [[ $ra == 5 && $rb == 0 ]]; then
    WINNER=$mb LOSER=$ma WTEXT="B's version" LTEXT="A's version" WOWN=b.txt LOWN=a.txt
  else
    cat "$WORK/daemon.log" >&2
    fail "expected one fsync to succeed and the other to fail with EIO (A: $ra, B: $rb)"
  fi
  check "one fsync succeeded, the other returned EIO" true
  local st
  st=$(key_status "$LOSER/.remote/k")
  echo "# loser's status: $st"
  check "the loser's status says conflict" grep -q '^conflict: key k changed on the remote' <<<"$st"
  CKEY=$(grep -o 'key k\.conflict-[A-Za-z0-9-]*' <<<"$st" | head -1 | cut -d' ' -f2)
  check "the status names the conflict key" test -n "$CKEY"
  check "the conflict key is HOST-TIME" grep -Eq '^k\.conflict-[A-Za-z0-9-]+-[0-9]{8}T[0-9]{6}Z' <<<"$CKEY"
  check "the winner's status is clean" test "$(key_status "$WINNER/.remote/k")" = clean
  check "the conflict is logged" grep -q "conflict on .*$CKEY" "$WORK/daemon.log"

  # Both versions readable on both mounts (the loser re-pulls k at its next access).
  ls "$LOSER/.remote/k" >/dev/null
  sleep 1.2  # entry_timeout / attr_timeout of what the kernel cached before
  local m
  for m in "$WINNER" "$LOSER"; do
    check "$m lists the conflict key" bash -c "ls '$m/.remote' | grep -qx '$CKEY'"
    check "$m: k has the winner's same.txt" test "$(cat "$m/.remote/k/same.txt")" = "$WTEXT"
    check "$m: k has the winner's own file" test -f "$m/.remote/k/$WOWN"
    check "$m: k has the base file" test "$(cat "$m/.remote/k/base.txt")" = base
    check "$m: the conflict key has the loser's same.txt" test "$(cat "$m/.remote/$CKEY/same.txt")" = "$LTEXT"
    check "$m: the conflict key has the loser's own file" test -f "$m/.remote/$CKEY/$LOWN"
    check "$m: the conflict key has the base file" test "$(cat "$m/.remote/$CKEY/base.txt")" = base
  done
  check "the loser's k no longer has the loser's own file" test ! -e "$LOSER/.remote/k/$LOWN"
  check "the loser's status still tells what happened" grep -q '^conflict: ' <<<"$(key_status "$LOSER/.remote/k")"

  # Work goes on: the loser writes on top of the winner's version, and its push succeeds.
  echo "after the conflict" >"$LOSER/.remote/k/after.txt"
  check "the loser's next fsync pushes" fsync_rc "$LOSER/.remote/k/after.txt"
  check "then its status is clean" test "$(key_status "$LOSER/.remote/k")" = clean
  check "the winner sees it" test "$(cat "$WINNER/.remote/k/after.txt")" = "after the conflict"
  check "and still has its own file" test -f "$WINNER/.remote/k/$WOWN"
}
