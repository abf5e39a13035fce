# Two commands do all the set-up: `make demo` and `make test`; both create .venv when missing.
# `make serve` then serves the demo ward in a browser.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo serve test lint typecheck check-definitions bench bench-city bench-audit bench-lifecycle bench-startup bench-upload bench-web clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cchc demo

# The web application on the demo's data folder (after `make demo`); prints how to sign in.
serve: $(STAMP)
	$(BIN)/cchc serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check-definitions: $(STAMP)
	$(BIN)/cchc definitions check definitions/

# Two pytest-xdist workers (this machine's two cores; TEST_WORKERS=0 runs in one process).
TEST_WORKERS ?= 2

test: lint typecheck check-definitions
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --cov --cov-report=term:skip-covered

bench: $(STAMP)
	$(BIN)/python bench/bench_fire.py

# City-scale figures (bench/README.md): 114 synthetic wards, on SQLite then PostgreSQL.
bench-city: $(STAMP)
	$(BIN)/python bench/bench_city.py --backend sqlite
	$(BIN)/python bench/bench_city.py --backend postgresql

bench-audit: $(STAMP)
	$(BIN)/python bench/bench_audit.py --backend both

bench-lifecycle: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/bench_lifecycle.py --prefect-postgres postgresql://postgres@127.0.0.1:5432/postgres

# Server memory while a 200 MB evidence file is uploaded (bench/README.md).
bench-upload: $(STAMP)
	$(BIN)/python bench/bench_upload.py

# Whole-process start-up of cchc commands, and a flow command with and without a Prefect server.
bench-startup: $(STAMP)
	$(BIN)/python bench/bench_startup.py --flow

# Latency of the web pages under 20 signed-in clients: the demo ward on SQLite, then PostgreSQL.
bench-web: $(STAMP)
	$(BIN)/python bench/bench_web.py --backend both --pg-workers 2,4

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
