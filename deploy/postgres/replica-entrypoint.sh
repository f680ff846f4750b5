#!/bin/sh
# The replica container: on an empty data directory, copy the primary with pg_basebackup -R (standby.signal and
# primary_conninfo written for us), then run postgres as a hot standby through the image's own entrypoint.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chown postgres "$PGDATA"
  chmod 700 "$PGDATA"
  until PGPASSWORD="$REPLICATION_PASSWORD" gosu postgres pg_basebackup -h "$PRIMARY_HOST" -U replicator \
      -D "$PGDATA" -R -X stream -c fast; do
    echo "replica: primary not reachable yet; retrying" >&2
    sleep 2
  done
fi
exec docker-entrypoint.sh postgres -c hot_standby=on
