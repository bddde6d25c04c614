# Helpers for the .remote/ mount tests (tests/fs/test_remote_*.sh). Source after lib.sh.
# Keeps the tests away from the user's own remotes and AWS settings.
export HOME=$WORK/home XDG_DATA_HOME=$WORK/xdg
mkdir -p "$HOME"
unset DOCFS_REMOTE AWS_PROFILE AWS_DEFAULT_PROFILE AWS_CA_BUNDLE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 \
  AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION || true

# xattr KEYDIR NAME: a user.docfs.* value of a key folder.
xattr() { getfattr --absolute-names --only-values -n "user.docfs.$2" "$1" 2>/dev/null; }
key_status() { xattr "$1" status; }
key_pushes() { xattr "$1" pushes; }

# wait_status KEYDIR PATTERN [SECONDS]: polls user.docfs.status until it matches (grep -E).
wait_status() {
  local dir=$1 want=$2 secs=${3:-20} i s=
  for ((i = 0; i < secs * 10; i++)); do
    s=$(key_status "$dir" || true)
    if grep -Eq -- "^($want)" <<<"$s"; then return 0; fi
    sleep 0.1
  done
  echo "status of $dir is '$s', wanted /$want/ after ${secs}s" >&2
  return 1
}

# make_tree DIR COUNT SIZE: COUNT files of SIZE random bytes, spread over 10 subdirectories.
make_tree() {
  local dir=$1 count=$2 size=$3 i
  mkdir -p "$dir"
  for ((i = 0; i < 10; i++)); do mkdir -p "$dir/d$i"; done
  python3 - "$dir" "$count" "$size" <<'PY'
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    with open(f"{d}/d{i % 10}/f{i}.bin", "wb") as f:
        f.write(os.urandom(size))
PY
}

# remote_has_doc REMOTE KEY ID: pulls KEY into a scratch store and checks ID is in it.
remote_has_doc() {
  local scratch=$WORK/pull.$RANDOM
  "$DOCFS" pull "$2" "$scratch" --remote "$1" --quiet >/dev/null 2>&1 || return 1
  "$DOCFS" ls "$scratch" | grep -qx -- "$3"
  local rc=$?
  rm -rf "$scratch"
  return $rc
}
remote_lacks_doc() { ! remote_has_doc "$@"; }
