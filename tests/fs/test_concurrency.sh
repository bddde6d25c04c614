# fio with crc32c verification, and several processes writing different files at once.
. "$(dirname "$0")/lib.sh"

new_store "$STORE"
mount_store "$STORE" "$MNT"
FIO_SIZE=${FIO_SIZE:-16m}

check "fio sequential write + verify" fio --name=seq --directory="$MNT" --rw=write --bs=128k \
  --size="$FIO_SIZE" --verify=crc32c --do_verify=1 --verify_state_save=0 --ioengine=psync --output="$WORK/fio1.txt"
check "fio random write + verify, 2 jobs" fio --name=rand --directory="$MNT" --rw=randwrite \
  --bs=4k --size=4m --numjobs=2 --verify=crc32c --do_verify=1 --verify_state_save=0 --ioengine=psync \
  --output="$WORK/fio2.txt"
check "fio read of the written files" fio --name=seq --directory="$MNT" --rw=read --bs=1m \
  --size="$FIO_SIZE" --ioengine=psync --output="$WORK/fio3.txt"

for p in 1 2 3 4; do random_file "$WORK/src$p" $((1024 * 1024 + p)); done
pids=()
for p in 1 2 3 4; do
  (for i in $(seq 1 25); do cp "$WORK/src$p" "$MNT/w$p-$i"; done) &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || fail "a writer failed"; done
ok=1
for p in 1 2 3 4; do
  for i in $(seq 1 25); do cmp -s "$WORK/src$p" "$MNT/w$p-$i" || ok=0; done
done
check "4 concurrent writers: 100 whole files" test $ok = 1

# readers while a writer rewrites the same file: each reader sees one whole version
random_file "$WORK/v1" 2000000
random_file "$WORK/v2" 2000000
cp "$WORK/v1" "$MNT/shared"
(for i in $(seq 1 10); do cp "$WORK/v$((i % 2 + 1))" "$MNT/shared.tmp" && mv "$MNT/shared.tmp" "$MNT/shared"; done) &
writer=$!
bad=0
for i in $(seq 1 30); do
  cat "$MNT/shared" >"$WORK/read"
  cmp -s "$WORK/read" "$WORK/v1" || cmp -s "$WORK/read" "$WORK/v2" || bad=1
done
wait $writer
check "readers see whole versions during rename-over writes" test $bad = 0

umount_store "$MNT"
check "fsck after concurrency" "$DOCFS" fsck "$STORE"
mount_store "$STORE" "$MNT"
ok=1
for p in 1 2 3 4; do cmp -s "$WORK/src$p" "$MNT/w$p-25" || ok=0; done
check "files intact after remount" test $ok = 1
