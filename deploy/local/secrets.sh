#!/usr/bin/env bash
# Generates the local secrets on first start, under .run/secrets (mode 600, never committed):
# the key ring's master key (32 random bytes, base64), identity's Ed25519 JWT signing key, and
# the two Standard Webhooks secrets between the orchestrator and the sub-processor simulator
# (whsec_ + base64 of 32 random bytes).
# Existing files are never replaced: replacing the master key would make every wrapped data
# key unreadable.
set -euo pipefail
COMPONENT=secrets
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_run_dirs
chmod 700 "$SECRETS"
umask 077

master="$SECRETS/keyring-master.key"
if [[ ! -s "$master" ]]; then
    openssl rand -base64 32 >"$master.tmp"
    mv "$master.tmp" "$master"
    log "generated $master"
fi

jwt="$SECRETS/jwt-ed25519.pem"
if [[ ! -s "$jwt" ]]; then
    openssl genpkey -algorithm ed25519 -out "$jwt.tmp"
    mv "$jwt.tmp" "$jwt"
    log "generated $jwt"
fi

# Webhook secrets (byggrygg_shared.webhooks): one per direction, each shared by both ends.
for webhook_secret in "$SUBPROCESSOR_SIM_SECRET_FILE" "$SUBPROCESSOR_SIM_ORCHESTRATOR_SECRET_FILE"; do
    if [[ ! -s "$webhook_secret" ]]; then
        printf 'whsec_%s\n' "$(openssl rand -base64 32)" >"$webhook_secret.tmp"
        mv "$webhook_secret.tmp" "$webhook_secret"
        log "generated $webhook_secret"
    fi
done
chmod 600 "$master" "$jwt" "$SUBPROCESSOR_SIM_SECRET_FILE" "$SUBPROCESSOR_SIM_ORCHESTRATOR_SECRET_FILE"
