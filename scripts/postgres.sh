#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the test suite (Debian's `postgresql` package).
# Usage: scripts/postgres.sh start|stop ; prints the SQLAlchemy URL on start.
set -euo pipefail
PGROOT=${LORABOT_PG_DIR:-/tmp/lorabot-pg}
PGPORT=${LORABOT_PG_PORT:-54329}
bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_pg() {
  # The server refuses to run as root: use the `postgres` system user when we are root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  if [ -z "$(bin_dir)" ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
  fi
  local bin; bin=$(bin_dir)
  if [ ! -f "$PGROOT/data/PG_VERSION" ]; then
    mkdir -p "$PGROOT"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGROOT"
    as_pg "$bin/initdb" -D "$PGROOT/data" -U lorabot --auth=trust -E UTF8 >/dev/null
  fi
  if ! as_pg "$bin/pg_ctl" -D "$PGROOT/data" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w \
      -o "-p $PGPORT -k $PGROOT -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" \
      start >&2
  fi
  echo "postgresql+asyncpg://lorabot@127.0.0.1:$PGPORT/postgres"
}

stop() {
  local bin; bin=$(bin_dir)
  [ -n "$bin" ] && as_pg "$bin/pg_ctl" -D "$PGROOT/data" -m fast stop >&2 || true
}

"${1:-start}"
