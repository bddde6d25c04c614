#!/usr/bin/env bash
# start.sh DATA_DIR BUCKET [PORT] [3|4]: starts a local S3 server in the background and
# prints "PID PORT" once it answers. Stop it with: stop.sh PID
set -euo pipefail
. "$(dirname "$0")/lib.sh"
S3_PORT_WANTED=${3:-}
s3_start "$1" "$2" "${4:-3}"
echo "$S3_PID $S3_PORT"
