#!/bin/sh
# Initialise a cluster on first start (like the official image does), then run postgres in the
# foreground as the direct child of tini (PID 1): setpriv execs it, where `su` would stay in between as
# its parent and keep the stop signal from the postmaster (every stop then ran to the 30 s grace period). POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB come from the stack's env.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
    su postgres -s /bin/sh -c "initdb -D '$PGDATA' -U '$POSTGRES_USER' --pwfile='$pwfile' -A scram-sha-256 -E UTF8 --locale=C.UTF-8" >/dev/null
    rm -f "$pwfile"
    cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '*'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
log_min_duration_statement = 1000
CONF
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    # A private socket-only start to create the database and the extension.
    su postgres -s /bin/sh -c "pg_ctl -D '$PGDATA' -o \"-c listen_addresses=''\" -w start" >/dev/null
    export PGPASSWORD="$POSTGRES_PASSWORD"
    if [ "$POSTGRES_DB" != postgres ]; then
        su postgres -s /bin/sh -c "createdb -U '$POSTGRES_USER' -h /run/postgresql '$POSTGRES_DB'" || true
    fi
    su postgres -s /bin/sh -c "psql -U '$POSTGRES_USER' -h /run/postgresql -d '$POSTGRES_DB' -v ON_ERROR_STOP=1 -qc 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'"
    unset PGPASSWORD
    su postgres -s /bin/sh -c "pg_ctl -D '$PGDATA' -m fast -w stop" >/dev/null
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA"
