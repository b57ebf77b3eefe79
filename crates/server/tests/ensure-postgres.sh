#!/usr/bin/env bash
# Makes sure the PostgreSQL the server tests use is there: something answering on
# 127.0.0.1:5432, a role for the current user with trust authentication over TCP from loopback,
# allowed to create schemas in a database `test`. Idempotent: does nothing that is already done.
# Installs Debian's `postgresql` package when nothing answers (needs root or sudo, and apt).
#
# The tests connect to TANDEM_TEST_DATABASE_URL, default postgres://127.0.0.1:5432/test as the
# current user; this script prepares that default. Exits non-zero, saying why, if it cannot.
set -euo pipefail

HOST=127.0.0.1
PORT=5432
DB=test
ME="$(id -un)"

say() { echo "ensure-postgres: $*" >&2; }
die() { say "$*"; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    SUDO=()
fi
as_root() {
    if [ "$(id -u)" -eq 0 ] || [ "${#SUDO[@]}" -gt 0 ]; then
        "${SUDO[@]}" "$@"
    else
        die "needs root or password-less sudo to run: $*"
    fi
}
# Runs a command as the cluster's superuser (over the local socket, peer authentication).
as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    elif [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@"; else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
    else
        as_root -u postgres "$@" 2>/dev/null || die "cannot act as the postgres user"
    fi
}

answers() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$HOST" -p "$PORT" -t 2
    else
        (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
    fi
}

# Finds pg_ctlcluster & co. even when /usr/lib/postgresql/*/bin is not on PATH.
PATH="$PATH:/usr/sbin:/sbin"

if ! answers; then
    if ! command -v pg_lsclusters >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 || die "nothing answers on $HOST:$PORT and apt-get is not available: install PostgreSQL by hand"
        say "nothing answers on $HOST:$PORT: installing Debian's postgresql package"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
            || die "apt-get update failed"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
            || die "apt-get install postgresql failed"
    fi
    command -v pg_lsclusters >/dev/null 2>&1 || die "postgresql-common is missing (no pg_lsclusters)"
    if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
        version="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)"
        [ -n "$version" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
        say "creating cluster $version/main"
        as_root pg_createcluster "$version" main >/dev/null || die "pg_createcluster failed"
    fi
    read -r version cluster cport _ < <(pg_lsclusters -h | head -1)
    [ "$cport" = "$PORT" ] || die "cluster $version/$cluster listens on port $cport, not $PORT"
    say "starting cluster $version/$cluster"
    as_root pg_ctlcluster "$version" "$cluster" start 2>/dev/null \
        || as_root service postgresql start >/dev/null 2>&1 \
        || true
    for _ in $(seq 1 30); do answers && break; sleep 1; done
    answers || die "PostgreSQL $version/$cluster did not start answering on $HOST:$PORT"
fi

# Already usable as the tests use it? Then there is nothing to do.
if command -v psql >/dev/null 2>&1 \
    && psql -w -h "$HOST" -p "$PORT" -U "$ME" -d "$DB" -Atqc "SELECT has_database_privilege(current_user, current_database(), 'CREATE')" 2>/dev/null | grep -qx t; then
    say "PostgreSQL ready: postgres://$HOST:$PORT/$DB as $ME"
    exit 0
fi

command -v psql >/dev/null 2>&1 || die "psql not found: install postgresql-client"
command -v pg_lsclusters >/dev/null 2>&1 || die "PostgreSQL answers on $HOST:$PORT but role $ME cannot use database $DB, and this is not a Debian cluster this script can configure"

read -r version cluster _ < <(pg_lsclusters -h | awk -v p="$PORT" '$3 == p' | head -1)
[ -n "${version:-}" ] || die "no local cluster listens on port $PORT"

# Trust over TCP from loopback, for the test URL (no password). Only loopback: a development and
# CI set-up, never a production one.
hba="/etc/postgresql/$version/$cluster/pg_hba.conf"
[ -f "$hba" ] || die "cannot find $hba"
if ! as_root grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    say "allowing trust authentication from 127.0.0.1 in $hba"
    tmp="$(mktemp)"
    {
        echo "# Added by tandem crates/server/tests/ensure-postgres.sh: tests connect without a password."
        echo "host    all             all             127.0.0.1/32            trust"
        echo "host    all             all             ::1/128                 trust"
        as_root cat "$hba"
    } >"$tmp"
    as_root cp "$tmp" "$hba"
    rm -f "$tmp"
    as_root pg_ctlcluster "$version" "$cluster" reload || die "reloading the cluster failed"
fi

sql() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres -Atc "$1"; }
if [ "$(sql "SELECT 1 FROM pg_roles WHERE rolname = '$ME'")" != 1 ]; then
    say "creating role $ME"
    sql "CREATE ROLE \"$ME\" LOGIN SUPERUSER" || die "cannot create role $ME"
fi
if [ "$(sql "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
    say "creating database $DB"
    sql "CREATE DATABASE \"$DB\" OWNER \"$ME\"" || die "cannot create database $DB"
fi
sql "GRANT CREATE ON DATABASE \"$DB\" TO \"$ME\"" || die "cannot grant CREATE on $DB to $ME"

psql -w -h "$HOST" -p "$PORT" -U "$ME" -d "$DB" -Atqc "SELECT 1" >/dev/null 2>&1 \
    || die "still cannot connect to postgres://$HOST:$PORT/$DB as $ME"
say "PostgreSQL ready: postgres://$HOST:$PORT/$DB as $ME"
