# shellcheck shell=bash
# Sourced by .ci/run: a PostgreSQL server for the results store tests (docs/store.md), so that
# they run against a real server and are never skipped. Installs Debian's postgresql if it is
# missing, makes a throw-away cluster in a temporary folder (as the postgres user: PostgreSQL
# refuses to run as root), listening on 127.0.0.1 on a free port, exports
# RIG_TEST_POSTGRES_URL and RIG_REQUIRE_POSTGRES=1, and stops and removes it when the calling
# shell exits (chained before any EXIT trap already set).

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
RIG_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
rig_pg() {  # a PostgreSQL tool, as the postgres user when we are root (from /: the checkout
  # may be a folder that user cannot enter)
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$RIG_PG_BIN/$1" "${@:2}")
  else
    "$RIG_PG_BIN/$1" "${@:2}"
  fi
}
RIG_PG_DIR=$(mktemp -d /tmp/rig-ci-postgres.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres:postgres "$RIG_PG_DIR"
RIG_PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rig_pg initdb -D "$RIG_PG_DIR/data" -A trust -U rig -E UTF8 --no-sync >/dev/null
rig_pg pg_ctl -D "$RIG_PG_DIR/data" -l "$RIG_PG_DIR/log" -w \
  -o "-p $RIG_PG_PORT -k $RIG_PG_DIR -c listen_addresses=127.0.0.1" start >/dev/null
rig_pg_stop() {
  rig_pg pg_ctl -D "$RIG_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$RIG_PG_DIR"
}
# shellcheck disable=SC2064  # the earlier trap's text, expanded now
trap "rig_pg_stop; $(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")" EXIT
export RIG_TEST_POSTGRES_URL="postgresql://rig@127.0.0.1:$RIG_PG_PORT/postgres"
export RIG_REQUIRE_POSTGRES=1
echo "PostgreSQL $("$RIG_PG_BIN/postgres" --version | awk '{print $3}') for the store tests: $RIG_TEST_POSTGRES_URL"
