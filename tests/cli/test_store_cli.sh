#!/usr/bin/env bash
# The docfs command line on a local store: every subcommand's --help, exit codes, and the
# init/put/ls/get/mv/rm/stat/prune/fsck/export/import round trip.
set -euo pipefail
DOCFS=${DOCFS:-build/docfs}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_status() {  # expect_status CODE CMD...
  local want=$1; shift
  set +e; "$@" >"$work/out" 2>"$work/err"; local got=$?; set -e
  [[ $got == "$want" ]] || fail "'$*' exited $got, wanted $want: $(cat "$work/err")"
}

# --help of every subcommand exits 0 and says usage
for cmd in $("$DOCFS" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1} /^$/{if(on)exit}'); do
  expect_status 0 "$DOCFS" "$cmd" --help
  grep -q "usage: docfs $cmd\|usage: .*$cmd" "$work/out" || fail "$cmd --help has no usage line"
done
expect_status 0 "$DOCFS" --version
grep -q '^store format 3' "$work/out" || fail "--version lacks the format version"
expect_status 2 "$DOCFS" no-such-command
expect_status 2 "$DOCFS" ls
expect_status 2 "$DOCFS" ls "$work/s" --bogus
expect_status 1 "$DOCFS" ls "$work/missing"
grep -q 'docfs init' "$work/err" || fail "missing store error does not say how to create one"

S=$work/s
expect_status 0 "$DOCFS" init "$S"
printf 'hello\n' > "$work/hello.txt"
head -c 3000000 /dev/urandom > "$work/big.bin"
expect_status 0 "$DOCFS" put "$S" "$work/hello.txt" --tag split=train
expect_status 0 "$DOCFS" put "$S" "$work/big.bin" --id data/big.bin
echo -n "from stdin" | "$DOCFS" put "$S" - --id notes/stdin.txt
expect_status 2 "$DOCFS" put "$S" - 
expect_status 1 "$DOCFS" put "$S" "$work/hello.txt" --id "$(printf 'x%.0s' {1..256})"
grep -q '256 bytes' "$work/err" || fail "long id error is unclear: $(cat "$work/err")"

[[ $("$DOCFS" ls "$S") == $'data/big.bin\nhello.txt\nnotes/stdin.txt' ]] || fail "ls: $("$DOCFS" ls "$S")"
"$DOCFS" ls "$S" -l | awk -F'\t' '$4=="hello.txt" && $2==6 {ok=1} END{exit !ok}' || fail "ls -l is not TSV when piped"
"$DOCFS" ls "$S" --json | grep -q '"id": "data/big.bin"' || fail "ls --json"
"$DOCFS" get "$S" data/big.bin | cmp - "$work/big.bin" || fail "get big"
"$DOCFS" get "$S" hello.txt -o "$work/out.txt" && cmp "$work/out.txt" "$work/hello.txt" || fail "get -o"
expect_status 1 "$DOCFS" get "$S" nope
"$DOCFS" stat "$S" hello.txt | grep -q 'tag *split=train' || fail "stat shows tags"

expect_status 0 "$DOCFS" mv "$S" hello.txt greetings/hello.txt
expect_status 0 "$DOCFS" rm "$S" notes/stdin.txt
expect_status 1 "$DOCFS" rm "$S" notes/stdin.txt
expect_status 0 "$DOCFS" put "$S" "$work/big.bin" --id data/big.bin   # garbage now
garbage=$("$DOCFS" stat "$S" --json | sed -n 's/.*"garbage_bytes": \([0-9]*\).*/\1/p')
(( garbage > 2000000 )) || fail "garbage after overwrite is $garbage"
expect_status 0 "$DOCFS" prune "$S"
garbage=$("$DOCFS" stat "$S" --json | sed -n 's/.*"garbage_bytes": \([0-9]*\).*/\1/p')
[[ $garbage == 0 ]] || fail "garbage after prune is $garbage"
expect_status 0 "$DOCFS" fsck "$S"
"$DOCFS" get "$S" greetings/hello.txt | cmp - "$work/hello.txt" || fail "renamed content"

# DocArray JSON out and back into a second store
expect_status 0 "$DOCFS" export "$S" -o "$work/s.json"
expect_status 0 "$DOCFS" init "$work/t"
expect_status 0 "$DOCFS" import "$work/t" "$work/s.json"
[[ $("$DOCFS" ls "$work/t") == $("$DOCFS" ls "$S") ]] || fail "import lost documents"
"$DOCFS" get "$work/t" data/big.bin | cmp - "$work/big.bin" || fail "binary through JSON"

# a second writer is refused while a reader works alongside
( exec 9>"$S/lock"; flock -x 9; echo $$ > "$S/lock"; sleep 3 ) &
holder=$!
sleep 0.5
expect_status 1 "$DOCFS" rm "$S" greetings/hello.txt
grep -q 'is locked by pid' "$work/err" || fail "locked store message: $(cat "$work/err")"
expect_status 0 "$DOCFS" ls "$S"
wait $holder

# corruption gives a clear error naming the file and offset
printf '\xff\xff\xff\xff' | dd of="$S/header.bin" bs=1 seek=40 conv=notrunc status=none
expect_status 1 "$DOCFS" ls "$S"
grep -q 'header.bin: corrupt entry at offset' "$work/err" || fail "corruption message: $(cat "$work/err")"
expect_status 1 "$DOCFS" fsck "$S"
echo "cli: all checks passed"
