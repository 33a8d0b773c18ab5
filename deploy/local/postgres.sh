#!/usr/bin/env bash
# The project-local PostgreSQL 15 cluster: start | stop | status.
# Loopback only (127.0.0.1:54329), superuser `byggrygg`, trust authentication, data in
# .run/postgres/data, the service databases listed in deploy/databases.conf.
set -euo pipefail
COMPONENT=postgres
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_DIR="$RUN/postgres"
PG_LOG="$LOGS/postgres.log"
FALLBACK_BASE=/var/lib/byggrygg

# initdb and postgres refuse to run as root: as root the server runs as the `postgres`
# system user (from the Debian package), otherwise as the current user.
as_server_user() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# The data directory. As root, the `postgres` user must be able to reach it; when the
# repository sits below a directory it cannot enter (e.g. a clone under /root, mode 700), the
# data lives under /var/lib/byggrygg/<hash of the repository path> instead and
# .run/postgres/data is a symlink to it, so the cluster stays this checkout's own.
data_dir() {
    mkdir -p "$PG_DIR"
    chmod 755 "$PG_DIR"
    if ! is_root || runuser -u postgres -- test -x "$PG_DIR"; then
        if [[ -L "$PG_DIR/data" ]]; then
            readlink -f "$PG_DIR/data"
        else
            printf '%s' "$PG_DIR/data"
        fi
        return
    fi
    local hash
    hash="$(printf '%s' "$ROOT" | sha256sum | cut -c1-16)"
    local target="$FALLBACK_BASE/$hash/postgres-data"
    mkdir -p "$FALLBACK_BASE/$hash"
    chmod 755 "$FALLBACK_BASE" "$FALLBACK_BASE/$hash"
    if [[ ! -L "$PG_DIR/data" ]]; then
        [[ -e "$PG_DIR/data" ]] && die "$PG_DIR/data exists but user postgres cannot reach it"
        ln -s "$target" "$PG_DIR/data"
        warn "user postgres cannot enter $ROOT: data directory is $target (linked from .run/postgres/data)" >&2
    fi
    printf '%s' "$target"
}

ensure_binaries() {
    if [[ ! -x "$PG_BIN/pg_ctl" ]]; then
        log "PostgreSQL 15 binaries missing: installing the Debian package"
        apt_install postgresql
        [[ -x "$PG_BIN/pg_ctl" ]] || die "no $PG_BIN/pg_ctl after installing postgresql (another major version?)"
    fi
}

psql_admin() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres "$@"
}

init_cluster() {
    local data="$1"
    log "first start: initdb in $data"
    mkdir -p "$data"
    if is_root; then chown postgres:postgres "$data"; fi
    chmod 700 "$data"
    as_server_user "$PG_BIN/initdb" -D "$data" -U "$PG_SUPERUSER" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=trust >>"$PG_LOG" 2>&1 \
        || die "initdb failed, see $PG_LOG"
    # Trust only on loopback: replace the generated rules, which also allow IPv6 and sockets
    # we do not open.
    cat >"$data/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER  ADDRESS        METHOD
host    all       all   127.0.0.1/32   trust
EOF
    cat >>"$data/postgresql.conf" <<EOF

# --- ByggRygg local settings (deploy/local/postgres.sh) ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
# TCP only: no socket file whose path length or directory rights depend on the checkout.
unix_socket_directories = ''
# Tests run in parallel, each with its own database and connection pools.
max_connections = 300
timezone = 'UTC'
log_timezone = 'UTC'
EOF
    if is_root; then chown postgres:postgres "$data/pg_hba.conf" "$data/postgresql.conf"; fi
}

start() {
    ensure_run_dirs
    ensure_binaries
    touch "$PG_LOG"
    local data
    data="$(data_dir)"
    if [[ ! -f "$data/PG_VERSION" ]]; then
        init_cluster "$data"
    fi
    # A checkout copied or cloned by another user: the server insists on owning its data.
    if is_root; then chown -R postgres:postgres "$data"; fi
    chmod 700 "$data"
    if as_server_user "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        log "already running on 127.0.0.1:$PG_PORT"
    else
        if port_open "$PG_PORT"; then
            die "port $PG_PORT is in use by another process (see docs/runbook.md, 'port in use')"
        fi
        log "starting on 127.0.0.1:$PG_PORT"
        # No -l: the server inherits this shell's log file descriptor, so the log needs no
        # rights for the postgres user. pg_ctl removes a stale postmaster.pid by itself.
        as_server_user "$PG_BIN/pg_ctl" -D "$data" -w -t 60 start >>"$PG_LOG" 2>&1 \
            || die "server did not start, last log lines:
$(tail -n 20 "$PG_LOG")"
    fi
    create_databases
}

create_databases() {
    local db exists
    while read -r db; do
        exists="$(psql_admin -tA -c "SELECT 1 FROM pg_database WHERE datname = '$db'")"
        if [[ "$exists" != 1 ]]; then
            psql_admin -c "CREATE DATABASE \"$db\""
            log "created database $db"
        fi
    done < <(config_lines "$DEPLOY/databases.conf")
}

stop() {
    local data
    data="$(data_dir)"
    if [[ -f "$data/PG_VERSION" ]] && as_server_user "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        log "stopping"
        as_server_user "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >>"$PG_LOG" 2>&1
        log "stopped"
    else
        log "not running"
    fi
}

status() {
    local data
    data="$(data_dir)"
    if [[ -f "$data/PG_VERSION" ]] && as_server_user "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        log "running on 127.0.0.1:$PG_PORT (data $data)"
    else
        log "not running"
        return 1
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 start|stop|status" ;;
esac
