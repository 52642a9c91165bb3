# Everything a fresh machine needs: Python 3.11+ and make.
#   make demo          the whole stack + scripted scenarios; Ctrl-C stops it (installs [demo] only)
#   make demo ONCE=1   the same, then stop everything it started
#   make test          the whole test suite
#   make lint          ruff (lint + format check) and mypy

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# make demo installs only what the demo runs (the [demo] extra); test, lint, bench
# and chaos need [dev], which includes it, so a [dev] install stamps both.
DEMO_INSTALLED := $(VENV)/.installed-demo

UNBIND_TEMPORAL_PORT ?= 7233
UNBIND_TEMPORAL_UI_PORT ?= 8233
export UNBIND_TEMPORAL_PORT UNBIND_TEMPORAL_UI_PORT
# The codec server's port; `make server` points the Web UI at it when UNBIND_PAYLOAD_KEYS is set.
UNBIND_CODEC_PORT ?= 8081
CODEC_URL := http://127.0.0.1:$(UNBIND_CODEC_PORT)

ONCE ?=
DEMO_FLAGS := $(if $(filter 1 yes true,$(ONCE)),--once,)

# Debian packages some targets need: Chromium for the Web UI tests, promtool for
# the alert tests, PostgreSQL for the fault suite's database-down scenario.
# Installed once if missing (root, or sudo).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL := $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq
CHROMIUM := /usr/bin/chromium
BROWSER_FOR_TESTS := $(if $(filter 1 yes true,$(UNBIND_SKIP_BROWSER_TESTS)),,$(CHROMIUM))
# promtool evaluates the alert rules in tests/observability (Debian's prometheus package).
PROMTOOL := /usr/bin/promtool

.DEFAULT_GOAL := help
.PHONY: help venv install demo test lint format worker server codec-server clean distclean bench chaos postgresql

help:
	@echo "make demo [ONCE=1]  start Temporal + worker, play the scenarios (Web UI on :$(UNBIND_TEMPORAL_UI_PORT))"
	@echo "make test           run the whole test suite"
	@echo "make lint           ruff check, ruff format --check, mypy"
	@echo "make bench          throughput, memory, scale vs a skeleton (BENCH_ARGS=\"--apps 40 ...\"; docs/PERFORMANCE.md)"
	@echo "make chaos          fault suite: kill -9 worker/server, lock the db, no cache (CHAOS_ARGS=\"--applications 60 --seed 3\")"
	@echo "make format         ruff format + ruff check --fix"
	@echo "make server         the Temporal dev server in the foreground (state in var/)"
	@echo "make worker         unbind db upgrade, then the worker in the foreground (python worker.py)"
	@echo "make codec-server   decodes encrypted payloads for the Web UI (needs UNBIND_PAYLOAD_KEYS)"
	@echo "make venv           create $(VENV) and install the project with [dev] (make demo: [demo] only)"
	@echo "make clean          remove var/ and caches (distclean: also $(VENV))"

venv install: $(INSTALLED)

define NEW_VENV
	@command -v $(PYTHON) >/dev/null 2>&1 || \
		{ echo "error: $(PYTHON) not found: install Python 3.11+ or pass PYTHON=..." >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "error: $(PYTHON) is $$($(PYTHON) -V 2>&1); this project needs 3.11+ (make PYTHON=python3.11 ...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
endef

$(INSTALLED): pyproject.toml
	$(NEW_VENV)
	$(BIN)/pip install -e '.[dev]'
	@touch $@ $(DEMO_INSTALLED)

$(DEMO_INSTALLED): pyproject.toml
	$(NEW_VENV)
	$(BIN)/pip install -e '.[demo]'
	@touch $@

demo: $(DEMO_INSTALLED)
	$(BIN)/python -m starter.demo $(DEMO_FLAGS)

test: $(INSTALLED) $(BROWSER_FOR_TESTS) $(PROMTOOL)
	$(BIN)/pytest $(PYTEST_ARGS)

$(CHROMIUM):
	@command -v apt-get >/dev/null 2>&1 || { echo "error: the Web UI tests need Chromium at $@" \
		"(Debian: apt-get install chromium), or UNBIND_SKIP_BROWSER_TESTS=1 to skip them" >&2; exit 1; }
	$(APT_INSTALL) chromium

$(PROMTOOL):
	@command -v apt-get >/dev/null 2>&1 || { echo "error: the alert tests need promtool at $@" \
		"(Debian: apt-get install prometheus)" >&2; exit 1; }
	$(APT_INSTALL) --no-install-recommends prometheus

postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(APT_INSTALL) postgresql; }

# Sizes and the database are flags: BENCH_ARGS="--apps 200 --waiting 2000 --scale 10000
# --database-url postgresql+psycopg://..." (or UNBIND_DATABASE_URL). The last line is JSON.
bench: $(INSTALLED)
	$(BIN)/python -m bench $(BENCH_ARGS)

# The fault suite on real processes; prints one table, fails on any application
# lost, stuck or doubled, on faults not proven to hit open applications, or on a
# worker exit nobody caused. CHAOS_ARGS="--applications N --seed S --scenario KEY
# --sequential" (--no-faults: the same run with no fault, which must fail).
chaos: $(INSTALLED) postgresql
	$(BIN)/python -m chaos $(CHAOS_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The worker refuses a database behind the migrations; a developer's is brought up to date first.
worker: $(INSTALLED)
	$(BIN)/unbind db upgrade
	$(BIN)/python worker.py

server: $(INSTALLED)
	@mkdir -p var
	exec $(BIN)/temporal server start-dev --ip 127.0.0.1 \
		--port $(UNBIND_TEMPORAL_PORT) --ui-port $(UNBIND_TEMPORAL_UI_PORT) \
		--db-filename var/temporal.db --log-level error \
		$(if $(UNBIND_PAYLOAD_KEYS),--ui-codec-endpoint $(CODEC_URL)) \
		$$($(BIN)/python -c 'from starter.devstack.server import dev_server_flags; print(" ".join(dev_server_flags()))')

codec-server: $(INSTALLED)
	UNBIND_CODEC_ADDRESS=127.0.0.1:$(UNBIND_CODEC_PORT) \
	UNBIND_CODEC_CORS_ORIGINS=http://127.0.0.1:$(UNBIND_TEMPORAL_UI_PORT),http://localhost:$(UNBIND_TEMPORAL_UI_PORT) \
		exec $(BIN)/python -m starter.codec_server

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
	find . -path ./.git -prune -o -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 \
		| xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV)
