#!/usr/bin/env bash
# Brings the local platform up: `up.sh` everything, `up.sh infra` only the components the
# tests need (PostgreSQL, Kafka and its topics, the gateway, the mail sink), not the services
# nor the sub-processor simulator.
# Installs what is missing first. Safe to run again at any time: nothing is reformatted or
# recreated, running parts are left running.
set -euo pipefail
COMPONENT=up
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

scope="${1:-all}"
[[ "$scope" == all || "$scope" == infra ]] || die "usage: $0 [all|infra]"
local_dir="$DEPLOY/local"

bash "$local_dir/install.sh"
bash "$local_dir/secrets.sh"
bash "$local_dir/env.sh"
bash "$local_dir/postgres.sh" start
bash "$local_dir/kafka.sh" start
COMPONENT=topics
log "$(project_python "$local_dir/create_topics.py" --bootstrap "$KAFKA_BOOTSTRAP" | tail -n 1)"
bash "$local_dir/nginx.sh" start
bash "$local_dir/mailsink.sh" start

services_ok=1
demo_ok=1
if [[ "$scope" == all ]]; then
    bash "$local_dir/subprocessor_sim.sh" start
    bash "$local_dir/services.sh" start || services_ok=0
    # Demo data (deploy/demo/seed.py) on the first start: only when no course exists yet.
    if [[ "$services_ok" == 1 ]]; then
        COMPONENT=demo
        set -a
        # shellcheck source=/dev/null
        source "$RUN/env"
        set +a
        project_python "$DEPLOY/demo/seed.py" --if-empty || demo_ok=0
    fi
fi

COMPONENT=up
cat <<EOF

Running (state in .run/, logs in .run/logs/, settings: source .run/env):
  PostgreSQL  postgresql://$PG_SUPERUSER@127.0.0.1:$PG_PORT/postgres
  Kafka       $KAFKA_BOOTSTRAP
  Gateway     http://127.0.0.1:$GATEWAY_PORT/api/<service>/
  Mail sink   smtp://127.0.0.1:$SMTP_PORT (every mail kept as a file in ${MAIL_DIR#"$ROOT"/}/new/)
EOF
if [[ "$scope" == all ]]; then
    printf '  %-11s http://127.0.0.1:%s/ (HeiHallo; admin API in docs/runbook.md)\n' \
        "sub-proc sim" "$SUBPROCESSOR_SIM_PORT"
    while read -r name port; do
        state=""
        curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz" 2>/dev/null \
            || state="  NOT RUNNING"
        printf '  %-11s http://127.0.0.1:%s/  (via gateway: http://127.0.0.1:%s/api/%s/)%s\n' \
            "$name" "$port" "$GATEWAY_PORT" "$name" "$state"
    done < <(config_lines "$DEPLOY/services.conf")
fi
if [[ "$services_ok" == 0 ]]; then
    echo
    die "some services could not be started (see above and .run/logs/); the components above are running"
fi
if [[ "$demo_ok" == 0 ]]; then
    echo
    die "the demo data could not be seeded (see above); everything above is running, 'make demo' tries again"
fi
