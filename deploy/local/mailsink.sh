#!/usr/bin/env bash
# The local mail sink (deploy/local/mail_sink.py, aiosmtpd): start | stop | status.
# SMTP on 127.0.0.1:8025, every received message kept as a file in the Maildir .run/mail/
# (new/); pid in .run/pids/mailsink.pid, log in .run/logs/mailsink.log. Nothing is relayed.
set -euo pipefail
COMPONENT=mailsink
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PID_FILE="$PIDS/mailsink.pid"
SINK_LOG="$LOGS/mailsink.log"
READY_TIMEOUT=30
STOP_TIMEOUT=10

start() {
    ensure_run_dirs
    mkdir -p "$MAIL_DIR"
    chmod 700 "$MAIL_DIR" # the mails hold names and addresses
    local pid
    if pid="$(live_pid "$PID_FILE")"; then
        log "already running on 127.0.0.1:$SMTP_PORT (pid $pid)"
        return 0
    fi
    rm -f "$PID_FILE"
    if port_open "$SMTP_PORT"; then
        die "port $SMTP_PORT is in use by another process (see docs/runbook.md)"
    fi
    start_detached "$PID_FILE" "$SINK_LOG" \
        uv run --no-sync python "$DEPLOY/local/mail_sink.py" \
        --host 127.0.0.1 --port "$SMTP_PORT" --maildir "$MAIL_DIR"
    local deadline=$((SECONDS + READY_TIMEOUT))
    until port_open "$SMTP_PORT"; do
        if ! live_pid "$PID_FILE" >/dev/null; then
            rm -f "$PID_FILE"
            die "the mail sink exited before it listened, last log lines:
$(tail -n 15 "$SINK_LOG")"
        fi
        if ((SECONDS >= deadline)); then
            stop
            die "the mail sink did not listen on port $SMTP_PORT within ${READY_TIMEOUT}s"
        fi
        sleep 0.2
    done
    log "SMTP on 127.0.0.1:$SMTP_PORT, mails in $MAIL_DIR/new (pid $(cat "$PID_FILE"))"
}

stop() {
    stop_group "$PID_FILE" "$STOP_TIMEOUT" "mail sink"
}

status() {
    local pid
    if pid="$(live_pid "$PID_FILE")"; then
        log "running on 127.0.0.1:$SMTP_PORT (pid $pid), mails in $MAIL_DIR/new"
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
