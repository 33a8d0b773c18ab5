#!/usr/bin/env bash
# Installs what the local deployment needs and is missing: Debian packages (PostgreSQL 15,
# nginx, Java, Maven, openssl, curl, make, shellcheck, chromium, prometheus), uv (with pip), the
# project's Python environment (`uv sync`) and the Kafka broker's classpath (Maven). Idempotent
# and quick when all is there.
set -euo pipefail
COMPONENT=install
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_run_dirs

missing=()
[[ -x "$PG_BIN/pg_ctl" ]] || missing+=(postgresql)
command -v nginx >/dev/null || missing+=(nginx)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
command -v setsid >/dev/null || missing+=(util-linux)
command -v make >/dev/null || missing+=(make)
command -v shellcheck >/dev/null || missing+=(shellcheck) # for `make lint`
# the browser of tests/e2e/test_ops_dashboard.py (never downloaded)
command -v chromium >/dev/null || missing+=(chromium)
if ((${#missing[@]} > 0)); then
    log "installing Debian packages: ${missing[*]}"
    apt_install "${missing[@]}"
fi
# Prometheus (and its promtool) for tests/e2e/test_prometheus_dashboard.py, which runs the
# Grafana dashboard's queries on a Prometheus of its own (a scratch one per test run).
# Without recommends: those are the node exporter and its collectors (smartmontools, ipmitool...).
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    log "installing Debian package: prometheus (without recommends)"
    apt_install --no-install-recommends prometheus
    # Debian starts the packaged one on :9090 where systemd runs; the tests start their own.
    if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
        systemctl stop prometheus || true
    fi
fi

if ! command -v uv >/dev/null; then
    log "uv missing: installing it with pip"
    python3 -m pip install --quiet uv 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages uv \
        || die "could not install uv with pip"
    if command -v pyenv >/dev/null; then pyenv rehash; fi
    hash -r
    command -v uv >/dev/null || die "uv installed but not on PATH (add python's script dir to PATH)"
fi

cd "$ROOT"
if [[ -f uv.lock ]]; then
    uv sync --frozen --quiet || die "'uv sync --frozen' failed: is uv.lock up to date? (run 'uv lock')"
else
    uv sync --quiet
fi

bash "$DEPLOY/local/kafka.sh" classpath
