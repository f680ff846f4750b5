#!/bin/sh
# Runs once in the official postgres image on an empty data directory (docker-entrypoint-initdb.d): a role for
# streaming replication and a pg_hba line letting the replica container use it.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '$REPLICATION_PASSWORD';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
