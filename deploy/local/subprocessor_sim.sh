#!/usr/bin/env bash
# The sub-processor simulator (deploy/subprocessor_sim: HeiHallo, R12/R13): start | stop | status.
# HTTP on 127.0.0.1:8201; receives the orchestrator's signed requests, calls back signed.
# Secrets in .run/secrets/ (secrets.sh), records in .run/subprocessor-sim/holdings.json,
# pid in .run/pids/subprocessor-sim.pid, log in .run/logs/subprocessor-sim.log.
# BYGGRYGG_SUBPROCESSOR_SIM_MODE (normal) sets the starting mode (docs/runbook.md).
set -euo pipefail
COMPONENT=subprocessor-sim
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PID_FILE="$PIDS/subprocessor-sim.pid"
SIM_LOG="$LOGS/subprocessor-sim.log"
READY_TIMEOUT=30
STOP_TIMEOUT=10
URL="http://127.0.0.1:$SUBPROCESSOR_SIM_PORT"

start() {
    ensure_run_dirs
    mkdir -p "$(dirname "$SUBPROCESSOR_SIM_STATE_FILE")"
    chmod 700 "$(dirname "$SUBPROCESSOR_SIM_STATE_FILE")" # the (fake) records are personal data
    local pid
    if pid="$(live_pid "$PID_FILE")"; then
        log "already running on $URL (pid $pid)"
        return 0
    fi
    rm -f "$PID_FILE"
    [[ -s "$SUBPROCESSOR_SIM_SECRET_FILE" && -s "$SUBPROCESSOR_SIM_ORCHESTRATOR_SECRET_FILE" ]] \
        || die "the webhook secrets are missing: run deploy/local/secrets.sh"
    if port_open "$SUBPROCESSOR_SIM_PORT"; then
        die "port $SUBPROCESSOR_SIM_PORT is in use by another process (see docs/runbook.md)"
    fi
    start_detached "$PID_FILE" "$SIM_LOG" env \
        PYTHONPATH="$DEPLOY" \
        BYGGRYGG_SUBPROCESSOR_SIM_PORT="$SUBPROCESSOR_SIM_PORT" \
        BYGGRYGG_SUBPROCESSOR_SIM_SECRET_FILE="$SUBPROCESSOR_SIM_SECRET_FILE" \
        BYGGRYGG_SUBPROCESSOR_SIM_ORCHESTRATOR_SECRET_FILE="$SUBPROCESSOR_SIM_ORCHESTRATOR_SECRET_FILE" \
        BYGGRYGG_SUBPROCESSOR_SIM_STATE_FILE="$SUBPROCESSOR_SIM_STATE_FILE" \
        uv run --no-sync python -m subprocessor_sim --host 127.0.0.1
    local deadline=$((SECONDS + READY_TIMEOUT))
    until curl -fsS -o /dev/null --max-time 2 "$URL/healthz" 2>/dev/null; do
        if ! live_pid "$PID_FILE" >/dev/null; then
            rm -f "$PID_FILE"
            die "the simulator exited before it answered, last log lines:
$(tail -n 15 "$SIM_LOG")"
        fi
        if ((SECONDS >= deadline)); then
            stop
            die "the simulator did not answer on $URL within ${READY_TIMEOUT}s"
        fi
        sleep 0.2
    done
    log "HeiHallo simulator on $URL (pid $(cat "$PID_FILE"))"
}

stop() {
    stop_group "$PID_FILE" "$STOP_TIMEOUT" "sub-processor simulator"
}

status() {
    local pid
    if pid="$(live_pid "$PID_FILE")"; then
        log "running on $URL (pid $pid)"
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
