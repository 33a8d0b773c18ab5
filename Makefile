# Entry points for people and CI. The work is done by the scripts in deploy/local/.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never

MYPY_PATHS := shared/src $(wildcard services/*/src) deploy/local deploy/demo deploy/subprocessor_sim bench
SHELL_SCRIPTS := $(wildcard deploy/local/*.sh) .ci/run
PYTEST_WORKERS ?= 2

.PHONY: help up down status logs lint asyncapi test bench demo rebuild-reporting dashboard-assets

help:
	@echo "make up      install what is missing, start PostgreSQL, Kafka, topics, gateway, mail sink,"
	@echo "             sub-processor simulator, services; seed the demo data when there is no course yet"
	@echo "make down    stop everything (data is kept in .run/)"
	@echo "make status  what is running"
	@echo "make demo    add a fresh demo organisation (learners, licences, answers) to the running platform"
	@echo "make logs    follow the logs in .run/logs/ (LOG=identity for one of them)"
	@echo "make lint    ruff check, ruff format --check, mypy --strict, shellcheck"
	@echo "make asyncapi  check docs/asyncapi.json is current and valid (npm's @asyncapi/parser)"
	@echo "make test    start everything (as make up), run every test (pytest -n $(PYTEST_WORKERS))"
	@echo "make bench   run the benchmarks, JSON results in bench/results/"
	@echo "make rebuild-reporting  rebuild reporting's read models from offset zero of courses' topics, then swap them in"

up:
	@bash deploy/local/up.sh all

down:
	@bash deploy/local/down.sh

status:
	@bash deploy/local/status.sh

# A fresh demo organisation on every run (the courses are made once); needs `make up`.
demo:
	@test -f .run/env || { echo "make demo: run make up first" >&2; exit 1; }
	@set -a; source .run/env; set +a; uv run --no-sync python deploy/demo/seed.py

# Reporting's read models replayed from offset zero into fresh tables, swapped in at the end
# (service_layer/rebuild.py); the running reporting keeps serving meanwhile. Needs `make up`.
rebuild-reporting:
	@test -f .run/env || { echo "make rebuild-reporting: run make up first" >&2; exit 1; }
	@set -a; source .run/env; set +a; uv run --no-sync reporting rebuild

# Reporting's dashboard page vendors its chart library (committed, no CDN): rebuild static/vendor from services/reporting/web/package-lock.json after changing it.
dashboard-assets:
	@cd services/reporting/web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@cd services/reporting/web && npm run --silent build

logs:
	@mkdir -p .run/logs
	@tail -n 40 -F $(if $(LOG),.run/logs/$(LOG).log,.run/logs/*.log)

# All three run, so one pass reports every problem; any failure fails the target.
lint:
	@rc=0; \
	echo "+ uv run ruff check ."; uv run ruff check . || rc=1; \
	echo "+ uv run ruff format --check ."; uv run ruff format --check . || rc=1; \
	echo "+ uv run mypy $(MYPY_PATHS)"; uv run mypy $(MYPY_PATHS) || rc=1; \
	echo "+ shellcheck -x $(SHELL_SCRIPTS)"; shellcheck -x $(SHELL_SCRIPTS) || rc=1; \
	exit $$rc

ASYNCAPI_PARSER := @asyncapi/parser@3.6.6
# The AsyncAPI document (docs/asyncapi.json, generated from the contracts) is current and valid
# by the official parser. The script sits beside its node_modules: ESM ignores NODE_PATH.
asyncapi:
	@uv run python -m byggrygg_shared.asyncapi --check --docs docs
	@mkdir -p .run/asyncapi && cd .run/asyncapi && { test -d node_modules/@asyncapi/parser || npm install --no-save --no-audit --no-fund --loglevel=error $(ASYNCAPI_PARSER) >/dev/null; }
	@cp deploy/local/validate_asyncapi.mjs .run/asyncapi/ && node .run/asyncapi/validate_asyncapi.mjs docs/asyncapi.json

# pytest exits 5 when it collected no test: that is a failure here, never a green run.
test:
	@bash deploy/local/up.sh all
	@set -a; source .run/env; set +a; \
	rc=0; uv run pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS) || rc=$$?; \
	if [[ $$rc == 5 ]]; then echo "make test: FAILED, pytest collected no tests" >&2; fi; \
	exit $$rc

# Only PostgreSQL and Kafka: the privacy benchmarks start their own services on scratch state.
bench:
	@test -f bench/run.py || { echo "make bench: bench/run.py does not exist yet" >&2; exit 1; }
	@bash deploy/local/up.sh infra
	@mkdir -p bench/results
	@set -a; source .run/env; set +a; \
	BYGGRYGG_BENCH_RESULTS_DIR=bench/results uv run python bench/run.py
