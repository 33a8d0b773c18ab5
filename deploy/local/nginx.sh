#!/usr/bin/env bash
# The nginx API gateway on 127.0.0.1:8080: start | stop | status.
# Config generated from deploy/nginx/*.template and deploy/services.conf into .run/nginx/;
# a running gateway is reloaded so a new service line takes effect.
set -euo pipefail
COMPONENT=nginx
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PREFIX="$RUN/nginx"
CONF="$PREFIX/nginx.conf"
PID_FILE="$PREFIX/nginx.pid"
ERROR_LOG="$LOGS/nginx-error.log"

ensure_binary() {
    if ! command -v nginx >/dev/null; then
        log "nginx missing: installing the Debian package"
        apt_install nginx
        # Debian starts the packaged nginx on port 80; this project runs its own.
        if command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
            systemctl stop nginx || true
        fi
    fi
}

render() {
    mkdir -p "$PREFIX/services" "$PREFIX/tmp"
    rm -f "$PREFIX/services/"*.conf
    local user_line=""
    # Workers of a root master switch to `nobody`, who may not reach .run/: keep them root.
    if is_root; then user_line="user root;"; fi
    sed -e "s|@USER@|$user_line|" -e "s|@PREFIX@|$PREFIX|g" -e "s|@LOGS@|$LOGS|g" \
        -e "s|@PORT@|$GATEWAY_PORT|g" "$DEPLOY/nginx/nginx.conf.template" >"$CONF"
    local name port
    while read -r name port; do
        [[ "$port" =~ ^[0-9]+$ ]] || die "deploy/services.conf: bad port for $name"
        sed -e "s|@NAME@|$name|g" -e "s|@SERVICE_PORT@|$port|g" \
            "$DEPLOY/nginx/service.conf.template" >"$PREFIX/services/$name.conf"
    done < <(config_lines "$DEPLOY/services.conf")
}

nginx_cmd() {
    # -e: nginx opens its error log before reading the config; not the system's default path.
    (cd "$ROOT" && nginx -p "$PREFIX/" -c "$CONF" -e "$ERROR_LOG" "$@")
}

# A reload returns before the new workers run: wait until every service's route exists (the
# gateway's own 404 says "No service is routed"; a 502 for a stopped service is fine).
wait_for_routes() {
    local name body deadline=$((SECONDS + 10))
    while read -r name _; do
        until body="$(curl -s --max-time 2 "http://127.0.0.1:$GATEWAY_PORT/api/$name/healthz")" \
            && [[ "$body" != *"No service is routed"* ]]; do
            ((SECONDS < deadline)) || die "route /api/$name/ not active after the reload"
            sleep 0.1
        done
    done < <(config_lines "$DEPLOY/services.conf")
}

start() {
    ensure_run_dirs
    ensure_binary
    render
    nginx_cmd -t -q || die "generated config $CONF is invalid"
    local pid
    if pid="$(live_pid "$PID_FILE")"; then
        nginx_cmd -s reload
        wait_for_routes
        log "already running (pid $pid): config reloaded"
        return 0
    fi
    rm -f "$PID_FILE"
    if port_open "$GATEWAY_PORT"; then
        die "port $GATEWAY_PORT is in use by another process (see docs/runbook.md)"
    fi
    nginx_cmd
    local deadline=$((SECONDS + 10))
    until port_open "$GATEWAY_PORT"; do
        ((SECONDS < deadline)) || die "gateway did not open port $GATEWAY_PORT, see $ERROR_LOG"
        sleep 0.1
    done
    log "gateway on http://127.0.0.1:$GATEWAY_PORT (pid $(cat "$PID_FILE"))"
}

stop() {
    # nginx shuts down gracefully on SIGQUIT; stop_group's SIGTERM is its fast shutdown.
    stop_group "$PID_FILE" 15 gateway
}

status() {
    local pid
    if pid="$(live_pid "$PID_FILE")"; then
        log "running on http://127.0.0.1:$GATEWAY_PORT (pid $pid)"
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
