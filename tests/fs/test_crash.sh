# SIGKILL of the daemon during writes: the store mounts again, passes fsck, and every
# file closed before the kill is intact.
. "$(dirname "$0")/lib.sh"

new_store "$STORE"
mount_fg "$STORE" "$MNT"
for i in $(seq 1 20); do random_file "$WORK/c$i" $((100000 + i)); cp "$WORK/c$i" "$MNT/c$i"; done
random_file "$WORK/synced" 500000
check "write + fsync" dd if="$WORK/synced" of="$MNT/synced" bs=64k conv=fsync status=none

# A writer that keeps going while the daemon dies.
(i=0; while true; do i=$((i + 1)); head -c 200000 /dev/urandom >"$MNT/busy$i" 2>/dev/null || break; done) &
writer=$!
sleep 1
kill -9 "$DAEMON_PID"
wait "$writer" 2>/dev/null || true
wait "$DAEMON_PID" 2>/dev/null || true
check "dead mount can be detached" fusermount3 -uz "$MNT"

check "fsck --repair after the kill" "$DOCFS" fsck --repair "$STORE"
check "fsck clean" "$DOCFS" fsck "$STORE"
mount_store "$STORE" "$MNT"
ok=1
for i in $(seq 1 20); do cmp -s "$WORK/c$i" "$MNT/c$i" || ok=0; done
check "closed files intact after SIGKILL" test $ok = 1
check "fsync'ed file intact" cmp "$WORK/synced" "$MNT/synced"
check "busy files are whole or absent" bash -c "for f in '$MNT'/busy*; do [ -e \"\$f\" ] || continue; s=\$(stat -c %s \"\$f\"); [ \$s = 200000 ] || [ \$s = 0 ] || exit 1; done"
check "store writable after remount" bash -c "echo after >'$MNT/after' && test \"\$(cat '$MNT/after')\" = after"
