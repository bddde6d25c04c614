#!/usr/bin/env bash
# Issue 17: caches that cannot lie. A key deleted on the remote (`docfs rm-key`) between two
# mounts, or a remount with another remote=, must not make `mkdir .remote/k` fail with
# EEXIST or writes fail with ENOENT; a cache with unpushed changes whose key was deleted
# (daemon killed, key removed, remount) is pushed as a new key, nothing lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote_lib.sh"
. "$(dirname "$0")/conflict_lib.sh"

R1=file://$WORK/r1
R2=file://$WORK/r2
mkdir -p "$WORK/r1" "$WORK/r2"
new_store "$WORK/A"
MA=$WORK/ma

# ---- rm-key between two mounts
mount_store "$WORK/A" "$MA" -o "remote=$R1,push_delay=600"
check "mkdir k" mkdir "$MA/.remote/k"
echo old >"$MA/.remote/k/old.txt"
check "fsync pushes k" fsync_rc "$MA/.remote/k/old.txt"
umount_store "$MA"
check "docfs rm-key k" "$DOCFS" rm-key k --remote "$R1"
mount_store "$WORK/A" "$MA" -o "remote=$R1,push_delay=600"
check "mkdir k again (no EEXIST), the first thing after the mount" mkdir "$MA/.remote/k"
check "a new key is 'new'" test "$(key_status "$MA/.remote/k")" = new
check "writing into it works (no ENOENT)" bash -c "echo new >'$MA/.remote/k/new.txt'"
check "the old file is not there" test ! -e "$MA/.remote/k/old.txt"
check "fsync pushes the new key" fsync_rc "$MA/.remote/k/new.txt"
check "the remote has the new file" remote_has_doc "$R1" k new.txt
check "and not the old one" remote_lacks_doc "$R1" k old.txt
umount_store "$MA"
check "docfs rm-key k" "$DOCFS" rm-key k --remote "$R1"
mount_store "$WORK/A" "$MA" -o "remote=$R1,push_delay=600"
check "writing into k fails with ENOENT (not there)" bash -c "! echo x >'$MA/.remote/k/x.txt'"
check "k is not listed" test -z "$(ls "$MA/.remote")"
check "mkdir k" mkdir "$MA/.remote/k"
echo new >"$MA/.remote/k/new.txt"
check "fsync pushes k" fsync_rc "$MA/.remote/k/new.txt"

# ---- rm-key while mounted: after remote_ttl (5 s by default; here 0) the cache goes
umount_store "$MA"
mount_store "$WORK/A" "$MA" -o "remote=$R1,push_delay=600,remote_ttl=0"
check "k is there" test -f "$MA/.remote/k/new.txt"
check "docfs rm-key k while mounted" "$DOCFS" rm-key k --remote "$R1"
sleep 1.1  # entry_timeout
check "mkdir k works at once" mkdir "$MA/.remote/k"
check "writing into it works" bash -c "echo again >'$MA/.remote/k/again.txt'"
check "fsync pushes it" fsync_rc "$MA/.remote/k/again.txt"
check "the remote has it" remote_has_doc "$R1" k again.txt
umount_store "$MA"

# ---- a remount with another remote=
mount_store "$WORK/A" "$MA" -o "remote=$R2,push_delay=600"
check "R2's folder is empty" test -z "$(ls "$MA/.remote")"
check "mkdir k on R2" mkdir "$MA/.remote/k"
check "writing into it works" bash -c "echo r2 >'$MA/.remote/k/r2.txt'"
check "fsync pushes to R2" fsync_rc "$MA/.remote/k/r2.txt"
check "R2 has it" remote_has_doc "$R2" k r2.txt
check "R1's k is untouched" remote_has_doc "$R1" k again.txt
check "R1's k did not get R2's file" remote_lacks_doc "$R1" k r2.txt
umount_store "$MA"

# ---- unpushed changes, daemon killed, key deleted, remount: pushed as a new key
mount_fg "$WORK/A" "$MA" -o "remote=$R1,push_delay=600"
check "k on R1 is cached again" test -f "$MA/.remote/k/again.txt"
echo "unpushed" >"$MA/.remote/k/unpushed.txt"
check "the key is dirty" test "$(key_status "$MA/.remote/k")" = dirty
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
fusermount3 -uz "$MA"
check "docfs rm-key k" "$DOCFS" rm-key k --remote "$R1"
mount_fg "$WORK/A" "$MA" -o "remote=$R1,push_delay=600"
for _ in $(seq 100); do remote_has_doc "$R1" k unpushed.txt && break; sleep 0.1; done
check "the local changes reached R1 as a new key" remote_has_doc "$R1" k unpushed.txt
check "with the rest of the cache" remote_has_doc "$R1" k again.txt
check "the status is clean" wait_status "$MA/.remote/k" clean 10
check "the log says the key was deleted" grep -q "was deleted on .*pushing the local changes as a new key" "$WORK/daemon.log"
