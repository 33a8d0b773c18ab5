#!/usr/bin/env bash
# The local Apache Kafka broker (KRaft, one node, 127.0.0.1:9092, controller 9093):
# classpath | start | stop | status.
# Classpath from deploy/kafka/pom.xml via Maven; storage formatted on the first start only,
# with the cluster id kept in .run/kafka/cluster-id; data in .run/kafka/data.
set -euo pipefail
COMPONENT=kafka
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_DIR="$RUN/kafka"
LIB="$KAFKA_DIR/lib"
DATA="$KAFKA_DIR/data"
CLUSTER_ID_FILE="$KAFKA_DIR/cluster-id"
PROPS="$KAFKA_DIR/server.properties"
LOG4J="$DEPLOY/kafka/log4j2.yaml"
PID_FILE="$PIDS/kafka.pid"
KAFKA_LOG="$LOGS/kafka.log"
STOP_TIMEOUT=60

# The jars are copied once; a marker names the pom they came from, so editing the pom
# (e.g. another Kafka version) refreshes them.
classpath() {
    ensure_run_dirs
    command -v java >/dev/null || apt_install openjdk-17-jre-headless
    local stamp
    stamp="$(sha256sum "$DEPLOY/kafka/pom.xml" | cut -c1-16)"
    if [[ -f "$LIB/.from-pom-$stamp" ]]; then
        return 0
    fi
    command -v mvn >/dev/null || apt_install maven
    log "resolving the broker classpath with Maven (deploy/kafka/pom.xml)"
    rm -rf "$LIB"
    # outputDirectory must be absolute: Maven resolves a relative one against the pom's folder.
    # Maven's output (colour codes even with -q) is shown only when it fails.
    local mvn_log="$LOGS/maven-kafka.log"
    mvn -B -Dstyle.color=never -f "$DEPLOY/kafka/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$LIB" -DincludeScope=runtime >"$mvn_log" 2>&1 \
        || die "Maven could not resolve deploy/kafka/pom.xml:
$(grep -E 'ERROR|FAIL' "$mvn_log" | head -n 20)"
    log "$(find "$LIB" -name '*.jar' | wc -l) jars in $LIB"
    touch "$LIB/.from-pom-$stamp"
}

java_cmd() {
    # Classpath wildcard stays quoted: the JVM expands it, not the shell.
    java -Dlog4j2.configurationFile="$LOG4J" -Dkafka.logs.dir="$LOGS/kafka" -cp "$LIB/*" "$@"
}

write_properties() {
    sed "s|@DATA_DIR@|$DATA|" "$DEPLOY/kafka/server.properties" >"$PROPS"
}

# Formats the storage once. A data directory formatted with another cluster id (e.g. the
# cluster-id file was deleted) is refused rather than wiped: see docs/runbook.md.
format_once() {
    if [[ ! -s "$CLUSTER_ID_FILE" ]]; then
        if [[ -f "$DATA/meta.properties" ]]; then
            sed -n 's/^cluster.id=//p' "$DATA/meta.properties" >"$CLUSTER_ID_FILE"
        else
            java_cmd kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOG" | tail -n 1 >"$CLUSTER_ID_FILE"
        fi
    fi
    local cluster_id formatted_id
    cluster_id="$(tr -d '[:space:]' <"$CLUSTER_ID_FILE")"
    [[ -n "$cluster_id" ]] || die "empty cluster id in $CLUSTER_ID_FILE"
    if [[ -f "$DATA/meta.properties" ]]; then
        formatted_id="$(sed -n 's/^cluster.id=//p' "$DATA/meta.properties")"
        [[ "$formatted_id" == "$cluster_id" ]] || die "cluster id mismatch: $DATA is formatted for \
$formatted_id but $CLUSTER_ID_FILE says $cluster_id (see docs/runbook.md)"
        return 0
    fi
    log "first start: formatting $DATA (cluster id $cluster_id)"
    mkdir -p "$DATA"
    java_cmd -Xmx256m kafka.tools.StorageTool format -g -t "$cluster_id" -c "$PROPS" \
        >>"$KAFKA_LOG" 2>&1 || die "formatting failed, see $KAFKA_LOG"
}

wait_ready() {
    local pid="$1"
    project_python "$DEPLOY/local/kafka_ready.py" --bootstrap "$KAFKA_BOOTSTRAP" --timeout 120 \
        --pid "$pid" || die "broker not ready, last log lines:
$(tail -n 30 "$KAFKA_LOG")"
}

start() {
    classpath
    local pid
    if pid="$(live_pid "$PID_FILE")"; then
        log "already running (pid $pid)"
        wait_ready "$pid"
        return 0
    fi
    rm -f "$PID_FILE"
    for port in 9092 9093; do
        if port_open "$port"; then
            die "port $port is in use by another process (see docs/runbook.md)"
        fi
    done
    write_properties
    format_once
    log "starting on $KAFKA_BOOTSTRAP"
    start_detached "$PID_FILE" "$KAFKA_LOG" \
        java -Xms512m -Xmx1g -XX:+UseG1GC -Dlog4j2.configurationFile="$LOG4J" \
        -Dkafka.logs.dir="$LOGS/kafka" -cp "$LIB/*" kafka.Kafka "$PROPS"
    pid="$(live_pid "$PID_FILE")" || die "broker exited at once, see $KAFKA_LOG"
    wait_ready "$pid"
    log "ready on $KAFKA_BOOTSTRAP (pid $pid)"
}

stop() {
    stop_group "$PID_FILE" "$STOP_TIMEOUT" broker
}

status() {
    local pid
    if pid="$(live_pid "$PID_FILE")"; then
        log "running on $KAFKA_BOOTSTRAP (pid $pid)"
    else
        log "not running"
        return 1
    fi
}

case "${1:-}" in
    classpath) classpath ;;
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 classpath|start|stop|status" ;;
esac
