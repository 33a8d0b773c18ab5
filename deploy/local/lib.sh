# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file
# Common paths and helpers for the local deployment scripts (sourced, never run).
# Every piece of state lives under $RUN (.run/ in the repository, git-ignored).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
RUN="$ROOT/.run"
DEPLOY="$ROOT/deploy"
LOGS="$RUN/logs"
PIDS="$RUN/pids"
SECRETS="$RUN/secrets"

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_PORT=54329
PG_SUPERUSER=byggrygg
KAFKA_BOOTSTRAP=127.0.0.1:9092
GATEWAY_PORT=8080
SMTP_PORT=8025
MAIL_DIR="$RUN/mail"
# The sub-processor simulator (HeiHallo, deploy/subprocessor_sim): its port, its own secret
# (signs its callbacks), the orchestrator's secret for it (signs requests to it), its records.
SUBPROCESSOR_SIM_PORT=8201
SUBPROCESSOR_SIM_SECRET_FILE="$SECRETS/subprocessor-sim.whsec"
SUBPROCESSOR_SIM_ORCHESTRATOR_SECRET_FILE="$SECRETS/subprocessor-sim-orchestrator.whsec"
SUBPROCESSOR_SIM_STATE_FILE="$RUN/subprocessor-sim/holdings.json"

export UV_PYTHON_DOWNLOADS=never

log() { printf '[%s] %s\n' "${COMPONENT:-deploy}" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "${COMPONENT:-deploy}" "$*" >&2; }
die() {
    printf '[%s] ERROR: %s\n' "${COMPONENT:-deploy}" "$*" >&2
    exit 1
}

ensure_run_dirs() {
    mkdir -p "$RUN" "$LOGS" "$PIDS" "$SECRETS"
    chmod 700 "$SECRETS"
}

is_root() { [[ "$(id -u)" == 0 ]]; }

# Debian packages are installed only when a binary is missing, and only by root; the package
# lists are refreshed once per script run (install.sh asks for everything in one call).
apt_updated=0
apt_install() {
    is_root || die "missing Debian package(s) $*: install them (sudo apt-get install -y $*)"
    if [[ "$apt_updated" == 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

# pid from a pid file, if that process is alive and ours: every process started here runs
# with the repository root as its working directory, so a pid recycled by an unrelated
# process after a reboot (a stale pid file) is not mistaken for ours.
live_pid() {
    local file="$1" pid
    [[ -s "$file" ]] || return 1
    pid="$(tr -dc '0-9' <"$file")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$ROOT" ]] || return 1
    printf '%s' "$pid"
}

# Starts a command as the leader of its own session, so it survives the calling shell and
# can be stopped as one process group by its id. The pid file holds the leader's pid.
start_detached() {
    local pid_file="$1" log_file="$2"
    shift 2
    rm -f "$pid_file"
    # The inner shell writes its own pid, then becomes the command (exec): correct whether or
    # not setsid had to fork.
    # shellcheck disable=SC2016 # $$, $0 and $@ belong to the inner shell
    (cd "$ROOT" && exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pid_file" "$@" \
        >>"$log_file" 2>&1 </dev/null) &
    local deadline=$((SECONDS + 10))
    until [[ -s "$pid_file" ]]; do
        ((SECONDS < deadline)) || die "process did not start: $*"
        sleep 0.1
    done
}

# SIGTERM to the process group named in the pid file, SIGKILL after the timeout.
stop_group() {
    local pid_file="$1" timeout="$2" name="$3" pid
    if ! pid="$(live_pid "$pid_file")"; then
        rm -f "$pid_file"
        log "$name: not running"
        return 0
    fi
    log "$name: stopping (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout))
    # Wait for the whole group: `uv run` and the like leave a child behind for a moment.
    while kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            warn "$name: still running after ${timeout}s, sending SIGKILL"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    rm -f "$pid_file"
    log "$name: stopped"
}

# Is something listening on this loopback TCP port?
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Runs the project's Python without touching the environment (installation is install.sh's job).
project_python() {
    (cd "$ROOT" && uv run --no-sync python "$@")
}

# Lines of a config file in deploy/, without comments and blank lines.
config_lines() {
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$1"
}
