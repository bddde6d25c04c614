#!/usr/bin/env bash
# Security checks: path traversal in ids and keys ('..', absolute, control bytes, over-long)
# refused — also ids inside a pulled archive; presigned URLs that expired or were tampered
# with are refused by the signature-checking server (@20minutes/s3rver 4.0.4); a
# credentials file readable by others gives a warning (as ssh does); archives claiming a
# huge size, document count or record length are refused before anything is allocated;
# the secret key never appears in any output. Servers are stopped by PID in the trap.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
SECRET=S3RVER                      # what s3rver accepts; also grepped for below
BAD_SECRET=docfs-test-secret-7f3a91c2e5  # a distinctive wrong secret: must never be printed
TOKEN=docfs-test-session-token-55e1
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=$SECRET AWS_REGION=us-east-1
start_server "$WORK/s3" bkt 4
export AWS_ENDPOINT_URL=$S3_ENDPOINT DOCFS_REMOTE=s3://bkt/sec
ALL=$WORK/all-output.log  # every output of every docfs command below
: >"$ALL"
run() { "$DOCFS" "$@" 2>&1 | tee -a "$ALL"; return "${PIPESTATUS[0]}"; }
check_fails_logged() { check_fails "$@"; cat "$WORK/out" "$WORK/err" >>"$ALL"; }
check_logged() { check "$@"; cat "$WORK/out" "$WORK/err" >>"$ALL"; }

make_store small 5 2000
check_logged "push a key" "$DOCFS" push small good

# ---- keys: traversal, absolute, control bytes, over-long (NUL cannot be in argv: it is
# covered where it can arrive — a list answer from the server — by key_name tests + fuzz_xml)
long=$(head -c 256 /dev/zero | tr '\0' k)
for bad in ".." "." "../x" "../../etc/passwd" "/abs" "/" "a/b" "a\\b" "$(printf 'a\001b')" "$(printf 'a\nb')" "%2e%2e" "$long" ""; do
  for cmd in push pull rm-key share; do
    case $cmd in
      push) args=(push small "$bad") ;; pull) args=(pull "$bad" "$WORK/x") ;;
      rm-key) args=(rm-key "$bad") ;; share) args=(share "$bad") ;;
    esac
    check_fails_logged "$cmd refuses key '$(printf %q "${bad:0:20}")'" 2 "invalid key|key" "$DOCFS" "${args[@]}"
  done
done
check "nothing was written outside the prefix" bash -c "! find '$WORK/s3' -path '*etc*' | grep -q ."
check "file:// remote: traversal key refused too" bash -c "! '$DOCFS' push small ../escape --remote 'file://$WORK/frem' 2>/dev/null && [ ! -e '$WORK/escape' ]"

# ---- ids: the same rules in put, mv and import; an archive carrying a bad id is refused
echo x >"$WORK/f"
for bad in "../x" "/abs" "a/../../b" "./a" "a//b" ".." "$(head -c 5000 /dev/zero | tr '\0' a)"; do
  check_fails_logged "put refuses id '${bad:0:16}'" 1 "id" "$DOCFS" put small "$WORK/f" --id "$bad"
done
check_fails_logged "mv refuses a '..' target" 1 "id|\\.\\." "$DOCFS" mv small hello.txt ../escaped
printf '[{"id": "../../escaped", "text": "x"}]' >"$WORK/bad.json"
check_fails_logged "import refuses a '..' id" 1 "id|\\.\\." "$DOCFS" import small "$WORK/bad.json"
check "no document escaped" bash -c "[ ! -e '$WORK/escaped' ] && ! '$DOCFS' ls small | grep -q escaped"

# Archives crafted by hand (python: CRC-32C of the header, SHA-256 of the payload).
cat >"$WORK/mkarc.py" <<'PY'
import hashlib, struct, sys
def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    return c ^ 0xFFFFFFFF
def header(docs, payload_len, sha):
    h = b"DOCFSARC" + struct.pack("<II", 1, 128) + b"evil".ljust(16, b"\0")
    h += struct.pack("<qqQQ", 0, 0, docs, payload_len) + sha
    h += struct.pack("<I", crc32c(h))
    return h.ljust(128, b"\0")
# meta: the cereal bytes of a real document (copied from a real archive)
real = open(sys.argv[2], "rb").read()
p = real[128:]
idl = struct.unpack("<I", p[:4])[0]
ml = struct.unpack("<I", p[4 + idl:8 + idl])[0]
meta = p[8 + idl:8 + idl + ml]
def record(i, content):
    i = i.encode()
    return struct.pack("<I", len(i)) + i + struct.pack("<I", len(meta)) + meta + struct.pack("<Q", len(content)) + content
kind = sys.argv[1]
if kind == "huge_length":      # header claims 2^60 payload bytes; the object is small
    pl = record("a", b"x")
    out = header(1, 1 << 60, hashlib.sha256(pl).digest()) + pl
elif kind == "huge_count":     # header claims 2^62 documents
    pl = record("a", b"x")
    out = header(1 << 62, len(pl), hashlib.sha256(pl).digest()) + pl
elif kind == "huge_id":        # a record claiming a 4 GiB id
    pl = struct.pack("<I", 0xFFFFFFF0) + b"abc"
    out = header(1, len(pl), hashlib.sha256(pl).digest()) + pl
elif kind == "huge_meta":      # a record claiming a 4 GiB metadata blob
    pl = struct.pack("<I", 1) + b"a" + struct.pack("<I", 0xFFFFFFF0) + b"abc"
    out = header(1, len(pl), hashlib.sha256(pl).digest()) + pl
elif kind == "huge_content":   # a record claiming 2^63 content bytes
    pl = struct.pack("<I", 1) + b"a" + struct.pack("<I", len(meta)) + meta + struct.pack("<Q", 1 << 63)
    out = header(1, len(pl), hashlib.sha256(pl).digest()) + pl
else:                          # an id with traversal / absolute path inside a valid archive
    bad = {"dotdot": "../../escaped", "abs": "/etc/escaped", "empty": ""}[kind]
    pl = record(bad, b"evil")
    out = header(1, len(pl), hashlib.sha256(pl).digest()) + pl
sys.stdout.buffer.write(out)
PY
mkdir -p "$WORK/frem"
check "push a real archive to file://" "$DOCFS" push small real --remote "file://$WORK/frem"
before=$(fingerprint small)
for kind in huge_length huge_count huge_id huge_meta huge_content; do
  python3 "$WORK/mkarc.py" $kind "$WORK/frem/real" >"$WORK/frem/$kind"
  rc=0
  /usr/bin/time -f "%M" -o "$WORK/rss" "$DOCFS" pull $kind small --remote "file://$WORK/frem" >"$WORK/out" 2>"$WORK/err" || rc=$?
  cat "$WORK/out" "$WORK/err" >>"$ALL"
  [[ $rc == 1 ]] || fail "$kind archive: pull exit $rc, expected 1: $(cat "$WORK/err")"
  grep -Eq "check failed|runs past|too|refus|malformed|corrupt|length" "$WORK/err" || fail "$kind: unclear error: $(cat "$WORK/err")"
  rss=$(tail -1 "$WORK/rss")
  [[ $rss -lt 200000 ]] || fail "$kind: pull used ${rss} KiB (allocated what the archive claimed?)"
  ok "$kind archive refused ($(head -c 120 "$WORK/err" | tr '\n' ' ')), peak RSS ${rss} KiB"
  # and through S3 (the same object uploaded with awscli)
  /usr/bin/aws s3 cp --only-show-errors --endpoint-url "$S3_ENDPOINT" "$WORK/frem/$kind" "s3://bkt/sec/$kind"
  check_fails_logged "$kind archive refused from S3 too" 1 "." "$DOCFS" pull $kind small
done
check "the destination store is untouched by every refused archive" test "$before" = "$(fingerprint small)"
check "no pull leftovers" bash -c "! ls -A '$WORK' | grep -q '\\.pull-'"
for kind in dotdot abs empty; do
  python3 "$WORK/mkarc.py" $kind "$WORK/frem/real" >"$WORK/frem/id_$kind"
  rm -rf "$WORK/dst"
  rc=0; "$DOCFS" pull id_$kind "$WORK/dst" --remote "file://$WORK/frem" >"$WORK/out" 2>"$WORK/err" || rc=$?
  cat "$WORK/out" "$WORK/err" >>"$ALL"
  [[ $rc == 1 ]] || fail "archive with a '$kind' id was accepted (exit $rc)"
  check "archive with a '$kind' id refused, nothing escaped" bash -c "[ ! -e '$WORK/escaped' ] && [ ! -e /etc/escaped ] && [ ! -e '$WORK/dst' ]"
done

# ---- presigned URLs: expired and tampered ones are refused by the server
url=$("$DOCFS" share good --expires 10m)
check "a fresh share link works (no credentials)" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$DOCFS" pull "$url" "$WORK/p1"
short=$("$DOCFS" share good --expires 1s)
sleep 2.2
check_fails_logged "an expired link is refused" 1 "403|expired|Expired|AccessDenied" \
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$DOCFS" pull "$short" "$WORK/p2"
sig=${url##*X-Amz-Signature=}
flip=$(python3 -c "import sys; s=sys.argv[1]; print(s[:5] + ('0' if s[5] != '0' else '1') + s[6:])" "$sig")
check_fails_logged "a link with a changed signature is refused" 1 "403" \
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$DOCFS" pull "${url%%X-Amz-Signature=*}X-Amz-Signature=$flip" "$WORK/p3"
check_fails_logged "a link with a longer lifetime is refused" 1 "403" \
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$DOCFS" pull "${url/X-Amz-Expires=600/X-Amz-Expires=604800}" "$WORK/p4"
check_fails_logged "a link moved to another key is refused" 1 "403" \
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$DOCFS" pull "${url/\/good?/\/real?}" "$WORK/p5"
check "no refused link left a destination" bash -c "[ ! -e '$WORK/p2' ] && [ ! -e '$WORK/p3' ] && [ ! -e '$WORK/p4' ] && [ ! -e '$WORK/p5' ]"

# ---- a credentials file readable by others: warning (like ssh), the secret never shown
mkdir -p "$HOME/.aws"
printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = %s\n' "$SECRET" >"$HOME/.aws/credentials"
chmod 644 "$HOME/.aws/credentials"
check "0644 credentials file: works" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$DOCFS" keys
cat "$WORK/out" "$WORK/err" >>"$ALL"; cp "$WORK/err" "$WORK/warn.err"
check "0644 credentials file: warns naming the file and chmod 600" grep -q "warning: .*\.aws/credentials.*accessible by others.*chmod 600" "$WORK/warn.err"
chmod 640 "$HOME/.aws/credentials"
check "0640 (group readable): warns too" bash -c "env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY '$DOCFS' keys 2>&1 >/dev/null | grep -q 'accessible by others'"
chmod 600 "$HOME/.aws/credentials"
check "0600 credentials file: no warning" bash -c "! env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY '$DOCFS' keys 2>&1 >/dev/null | grep -q warning"
chmod 644 "$HOME/.aws/credentials"
check "keys from the environment: no warning about the file" bash -c "! '$DOCFS' keys 2>&1 >/dev/null | grep -q warning"
rm -f "$HOME/.aws/credentials"

# ---- secrets never printed: wrong secret, session token, debug-ish paths
check_fails_logged "a wrong secret fails with the server's message" 1 "403 SignatureDoesNotMatch" \
  env AWS_SECRET_ACCESS_KEY=$BAD_SECRET "$DOCFS" push small k9
check_fails_logged "with a session token too" 1 "403" \
  env AWS_SECRET_ACCESS_KEY=$BAD_SECRET AWS_SESSION_TOKEN=$TOKEN "$DOCFS" pull good "$WORK/p6" --retries 1
printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = %s\n' "$BAD_SECRET" >"$WORK/creds"
chmod 644 "$WORK/creds"
check_fails_logged "wrong secret from a world-readable file" 1 "403" \
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE="$WORK/creds" "$DOCFS" keys
check_fails_logged "unreachable endpoint" 1 "." env AWS_SECRET_ACCESS_KEY=$BAD_SECRET "$DOCFS" push small k9 \
  --endpoint http://127.0.0.1:9 --retries 1
run keys >/dev/null || true
check "the bad secret is in no output" bash -c "! grep -q '$BAD_SECRET' '$ALL'"
check "the session token is in no output" bash -c "! grep -q '$TOKEN' '$ALL'"
check "outputs were collected" test "$(wc -l <"$ALL")" -gt 50
# The mount's log (the .remote/ folder uses the same credentials code).
if [[ -e /dev/fuse ]] && command -v fusermount3 >/dev/null; then
  mkdir -p "$WORK/mnt"; "$DOCFS" init "$WORK/ms" >/dev/null
  AWS_SECRET_ACCESS_KEY=$BAD_SECRET "$DOCFS" mount -d "$WORK/ms" "$WORK/mnt" --remote s3://bkt/sec >"$WORK/mount.log" 2>&1 &
  mpid=$!
  _SERVERS+=("$mpid")
  for _ in $(seq 100); do grep -q " $WORK/mnt fuse" /proc/mounts && break; sleep 0.05; done
  ls "$WORK/mnt/.remote/" >/dev/null 2>&1 || true
  cat "$WORK/mnt/.remote/good/hello.txt" >/dev/null 2>&1 || true
  fusermount3 -uz "$WORK/mnt" 2>/dev/null || true
  wait "$mpid" 2>/dev/null || true
  check "the mount's debug log has no secret" bash -c "grep -q . '$WORK/mount.log' && ! grep -q '$BAD_SECRET' '$WORK/mount.log'"
fi
