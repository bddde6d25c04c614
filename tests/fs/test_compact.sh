# Online compaction: automatic past the garbage threshold, and `docfs prune` on a mounted
# store (signals the daemon) while files stay readable.
. "$(dirname "$0")/lib.sh"

new_store "$STORE"
mount_store "$STORE" "$MNT" -o compact_min=1M,compact_ratio=0.5,compact_interval=0.2
random_file "$WORK/keep" 300000
cp "$WORK/keep" "$MNT/keep"
exec 7<"$MNT/keep"  # an open reader across the prune
for i in $(seq 1 12); do random_file "$MNT/junk" 500000; done
rm "$MNT/junk"
body() { stat -c %s "$STORE/body.bin"; }
for i in $(seq 1 100); do [ "$(body)" -lt 2000000 ] && break; sleep 0.1; done
check "automatic compaction shrank body.bin" test "$(body)" -lt 2000000
check "an open reader still reads the old body" cmp <(cat <&7) "$WORK/keep"
exec 7<&-
check "content intact after compaction" cmp "$MNT/keep" "$WORK/keep"
umount_store "$MNT"

mount_store "$STORE" "$MNT"  # default threshold: 64 MiB, never reached here
for i in $(seq 1 6); do random_file "$MNT/junk" 500000; done
before=$(body)
check "docfs prune on a mounted store" "$DOCFS" prune "$STORE"
for i in $(seq 1 100); do [ "$(body)" -lt "$before" ] && break; sleep 0.1; done
check "the daemon pruned" test "$(body)" -lt "$before"
check "files intact after prune" cmp "$MNT/keep" "$WORK/keep"
check "writes after prune" bash -c "echo x >'$MNT/new' && test \"\$(cat '$MNT/new')\" = x"
umount_store "$MNT"
check "fsck after prune" "$DOCFS" fsck "$STORE"
