#!/usr/bin/env bash
# The platform's services from deploy/services.conf: start | stop | status [name...].
# Each one: `uv run --no-sync <name> migrate`, then `<name> serve` in the background (pid in
# .run/pids/<name>.pid, log in .run/logs/<name>.log), ready when GET /readyz answers 200.
# A service that cannot start is reported and skipped; the exit status is then 1.
set -euo pipefail
COMPONENT=services
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

READY_TIMEOUT=60
MIGRATE_TIMEOUT=300
STOP_TIMEOUT=20

# name -> port, from the one list.
declare -A PORTS=()
ORDER=()
while read -r name port; do
    PORTS[$name]="$port"
    ORDER+=("$name")
done < <(config_lines "$DEPLOY/services.conf")

selected() {
    if (($# == 0)); then
        printf '%s\n' "${ORDER[@]}"
        return
    fi
    local name
    for name in "$@"; do
        [[ -n "${PORTS[$name]:-}" ]] || die "unknown service $name (see deploy/services.conf)"
        printf '%s\n' "$name"
    done
}

readyz() {
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/readyz" 2>/dev/null
}

# Reports why a service is not running, with the end of this attempt's part of its log
# (none before the attempt has written anything).
attempt_first_line=""
fail() {
    local name="$1" why="$2" log_file="$LOGS/$1.log"
    if [[ -z "$attempt_first_line" ]]; then
        printf '[%s] FAILED: %s.\n' "$name" "$why" >&2
        return 1
    fi
    printf '[%s] FAILED: %s. Last lines of %s:\n' "$name" "$why" "$log_file" >&2
    tail -n "+$attempt_first_line" "$log_file" | tail -n 15 | sed 's/^/    /' >&2
    return 1
}

start_one() {
    local name="$1" port="${PORTS[$1]}" pid
    local pid_file="$PIDS/$name.pid" log_file="$LOGS/$name.log"
    COMPONENT="$name"
    attempt_first_line=""
    if pid="$(live_pid "$pid_file")" && readyz "$port"; then
        log "already running on 127.0.0.1:$port (pid $pid)"
        return 0
    fi
    if [[ -n "${pid:-}" ]]; then
        stop_group "$pid_file" "$STOP_TIMEOUT" "$name (not ready)"
    fi
    if port_open "$port"; then
        fail "$name" "port $port is in use by another process" || return 1
    fi
    printf '\n=== %s start %s ===\n' "$name" "$(date -u +%FT%TZ)" >>"$log_file"
    attempt_first_line="$(wc -l <"$log_file")"
    log "migrating"
    if ! (cd "$ROOT" && timeout "$MIGRATE_TIMEOUT" uv run --no-sync "$name" migrate) \
        >>"$log_file" 2>&1 </dev/null; then
        fail "$name" "'uv run --no-sync $name migrate' failed" || return 1
    fi
    log "starting on 127.0.0.1:$port"
    start_detached "$pid_file" "$log_file" \
        uv run --no-sync "$name" serve --host 127.0.0.1 --port "$port"
    local deadline=$((SECONDS + READY_TIMEOUT))
    until readyz "$port"; do
        if ! live_pid "$pid_file" >/dev/null; then
            rm -f "$pid_file"
            fail "$name" "the process exited before it was ready" || return 1
        fi
        if ((SECONDS >= deadline)); then
            stop_group "$pid_file" "$STOP_TIMEOUT" "$name"
            fail "$name" "GET /readyz did not answer 200 within ${READY_TIMEOUT}s" || return 1
        fi
        sleep 0.5
    done
    log "ready on http://127.0.0.1:$port (pid $(cat "$pid_file"))"
}

start() {
    ensure_run_dirs
    [[ -f "$RUN/env" ]] || bash "$DEPLOY/local/env.sh"
    # Every BYGGRYGG_* setting reaches the services through their environment.
    set -a
    # shellcheck source=/dev/null
    source "$RUN/env"
    set +a
    local name failed=()
    while read -r name; do
        start_one "$name" || failed+=("$name")
    done < <(selected "$@")
    COMPONENT=services
    if ((${#failed[@]} > 0)); then
        warn "not running: ${failed[*]}"
        return 1
    fi
}

stop() {
    local name
    while read -r name; do
        stop_group "$PIDS/$name.pid" "$STOP_TIMEOUT" "$name"
    done < <(selected "$@")
}

status() {
    local name pid rc=0
    while read -r name; do
        COMPONENT="$name"
        if pid="$(live_pid "$PIDS/$name.pid")"; then
            if readyz "${PORTS[$name]}"; then
                log "ready on http://127.0.0.1:${PORTS[$name]} (pid $pid)"
            else
                log "running (pid $pid) but /readyz does not answer 200"
                rc=1
            fi
        else
            log "not running"
            rc=1
        fi
    done < <(selected "$@")
    return "$rc"
}

action="${1:-}"
shift || true
case "$action" in
    start) start "$@" ;;
    stop) stop "$@" ;;
    status) status "$@" ;;
    *) die "usage: $0 start|stop|status [service...]" ;;
esac
