#!/usr/bin/env bash
# Stops everything `up.sh` started, by pid file (services, sub-processor simulator, mail sink,
# gateway, Kafka, PostgreSQL).
# Data stays in .run/: the next `up.sh` continues where this one stopped.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

local_dir="$DEPLOY/local"
rc=0
bash "$local_dir/services.sh" stop || rc=1
bash "$local_dir/subprocessor_sim.sh" stop || rc=1
bash "$local_dir/mailsink.sh" stop || rc=1
bash "$local_dir/nginx.sh" stop || rc=1
bash "$local_dir/kafka.sh" stop || rc=1
bash "$local_dir/postgres.sh" stop || rc=1
exit "$rc"
