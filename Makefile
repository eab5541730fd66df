# carestar: `make demo` and `make test` do their own set-up on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DBT_PROFILES_DIR := $(CURDIR)/profiles
export CARESTAR_DUCKDB_PATH ?= warehouse/carestar.duckdb

DEMO_DIR := .carestar/demo
DEMO_ENCOUNTERS ?= 30000
# the sample data's "today" (carestar.generate.SAMPLE_AS_OF): reports on it do not depend on the run date
DEMO_VARS := {as_of_date: '2026-11-25'}

.PHONY: help setup demo test lint pytest pg-tools browser coverage docs sqlfluff seeds bench bench-100m backfill clean

help:
	@echo "make demo   set up, generate sample data, load it, build the warehouse, print a summary"
	@echo "make test   set up and run every test (ruff, pytest, dbt build, sqlfluff)"
	@echo "make bench  benchmarks (writes bench/results/); make bench-100m: the warehouse at 100M"
	@echo "make docs   build and serve the dbt docs site (lineage, exposures, tests)"
	@echo "make seeds  rewrite the seeds made from kept libraries"
	@echo "make backfill SOURCE=s3://bucket/prefix SINCE=2025-01-01 UNTIL=2025-01-31 [TARGET=duckdb]"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[postgres,sqlserver,redshift,dbt,dev]'
	touch $(STAMP)

setup: $(STAMP)

seeds: setup
	$(BIN)/carestar seeds --out seeds

demo: setup
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	rm -f $(CARESTAR_DUCKDB_PATH)
	$(BIN)/carestar generate --out $(DEMO_DIR)/landing --late-out $(DEMO_DIR)/landing-late \
		--encounters $(DEMO_ENCOUNTERS) --bad-share 0.02
	$(BIN)/carestar run $(DEMO_DIR)/landing --vars "$(DEMO_VARS)" --report $(DEMO_DIR)/job-1.json || [ $$? -eq 3 ]
	@echo "--- a later batch arrives: corrections, old dates, members named earlier ---"
	$(BIN)/carestar run $(DEMO_DIR)/landing-late --vars "$(DEMO_VARS)" --report $(DEMO_DIR)/job-2.json || [ $$? -eq 3 ]
	$(BIN)/carestar summary

lint: setup
	$(BIN)/ruff check loader bench
	$(BIN)/ruff format --check loader bench

# The tests start a throwaway PostgreSQL cluster: install the server binaries if the machine has none.
pg-tools:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ echo "installing PostgreSQL (Debian package) for the tests"; apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }

# The docs-site test renders the site in headless Chromium (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || \
		{ echo "installing chromium (Debian package) for the docs-site test"; apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# One worker per core: most of the time is dbt's Python, one core each. A test file stays on one
# worker, so its module fixtures (the PostgreSQL warehouse, the offline compiles) are built once.
# At most 4: test_warehouse.py alone takes ~6 minutes on one worker, and every worker builds its
# own session warehouse (and PostgreSQL cluster).
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --maxprocesses 4 --dist loadfile

pytest: setup pg-tools browser
	$(BIN)/pytest -q $(PYTEST_PARALLEL)

# the dbt templater compiles against a connection: a throwaway DuckDB file
sqlfluff: setup
	mkdir -p .carestar
	CARESTAR_DUCKDB_PATH=.carestar/lint.duckdb $(BIN)/sqlfluff lint models macros tests

# The same tests, measured: fails under the floor.
COVERAGE_FLOOR ?= 85
coverage: setup pg-tools browser
	$(BIN)/pytest -q $(PYTEST_PARALLEL) --cov=carestar --cov-report=term-missing:skip-covered --cov-fail-under=$(COVERAGE_FLOOR)

# pytest includes the end-to-end runs: generated files -> loader -> dbt build -> checks
test: lint pytest sqlfluff

# The warehouse benchmark's sizes (how its runs grow is fitted between the smallest and largest).
WAREHOUSE_ENCOUNTERS ?= 1000000 10000000
bench: setup
	$(BIN)/python bench/run.py --encounters 1000000 10000000 --memory-gb 2
	$(BIN)/python bench/warehouse.py --encounters $(WAREHOUSE_ENCOUNTERS)

# The warehouse at 100M encounters alone, into bench/results/warehouse-100m.md: about 40 minutes
# on two cores (loading 290M rows takes 15 of them), plus 50 to generate the files the first time
# (kept in bench/data and reused), and 40 GB of disk.
bench-100m: setup
	$(BIN)/python bench/warehouse.py --encounters 100000000 --name warehouse-100m

# Load (exactly once) what a date window holds, then build incrementally. Rerunning it is safe.
TARGET ?= duckdb
backfill: setup
	@test -n "$(SOURCE)" -a -n "$(SINCE)" -a -n "$(UNTIL)" || { echo "usage: make backfill SOURCE=... SINCE=YYYY-MM-DD UNTIL=YYYY-MM-DD [TARGET=duckdb]"; exit 2; }
	$(BIN)/carestar load $(SOURCE) --target $(TARGET) --since $(SINCE) --until $(UNTIL) || [ $$? -eq 3 ]
	CARESTAR_TARGET=$(TARGET) $(BIN)/dbt build

# The dbt docs site: every model, column, exposure and test, with lineage.
docs: setup
	$(BIN)/dbt docs generate
	$(BIN)/dbt docs serve --port 8080

clean:
	rm -rf $(VENV) .carestar warehouse target logs
