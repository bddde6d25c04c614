# Start and stop a local S3 server for tests and benchmarks. Source it, then:
#   s3_start DATA_DIR BUCKET [3|4]   starts s3rver 3.7.1 (default) or @20minutes/s3rver 4.0.4
#                                    (which checks SigV4 signatures) on 127.0.0.1 and a free
#                                    port; sets S3_PORT, S3_PID, S3_ENDPOINT
#   s3_stop                          stops it by PID (safe to call twice)
# Credentials for both: S3RVER / S3RVER. Logs go to DATA_DIR.log.
S3SERVER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_s3_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

s3_start() {
  local data=$1 bucket=$2 flavor=${3:-3}
  "$S3SERVER_DIR/install.sh"
  mkdir -p "$data"
  S3_PORT=${S3_PORT_WANTED:-$(_s3_free_port)}
  local -a cmd
  if [[ $flavor == 4 ]]; then
    cmd=(node --openssl-legacy-provider "$S3SERVER_DIR/s3rver4.js" -d "$data" -a 127.0.0.1 -p "$S3_PORT" --no-vhost-buckets --configure-bucket "$bucket")
  else
    cmd=(node --openssl-legacy-provider "$S3SERVER_DIR/node_modules/s3rver/bin/s3rver.js"
         -d "$data" -a 127.0.0.1 -p "$S3_PORT" --configure-bucket "$bucket")
  fi
  "${cmd[@]}" >"$data.log" 2>&1 &
  S3_PID=$!
  S3_ENDPOINT=http://127.0.0.1:$S3_PORT
  local i
  for ((i = 0; i < 100; i++)); do
    if curl -s -o /dev/null "$S3_ENDPOINT/" 2>/dev/null; then return 0; fi
    if ! kill -0 "$S3_PID" 2>/dev/null; then
      echo "s3_start: server exited; log:" >&2
      cat "$data.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "s3_start: server did not answer on $S3_ENDPOINT" >&2
  return 1
}

s3_stop() {
  if [[ -n ${S3_PID:-} ]]; then
    kill "$S3_PID" 2>/dev/null || true
    wait "$S3_PID" 2>/dev/null || true
    S3_PID=
  fi
}
