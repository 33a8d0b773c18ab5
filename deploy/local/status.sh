#!/usr/bin/env bash
# Reports each local component and service; exit status 1 when any of them is not running.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

local_dir="$DEPLOY/local"
rc=0
bash "$local_dir/postgres.sh" status || rc=1
bash "$local_dir/kafka.sh" status || rc=1
bash "$local_dir/nginx.sh" status || rc=1
bash "$local_dir/mailsink.sh" status || rc=1
bash "$local_dir/subprocessor_sim.sh" status || rc=1
bash "$local_dir/services.sh" status || rc=1
exit "$rc"
