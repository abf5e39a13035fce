# Two commands do all the set-up: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test lint typecheck check-definitions bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cchc demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check-definitions: $(STAMP)
	$(BIN)/cchc definitions check definitions/

test: lint typecheck check-definitions
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered

bench: $(STAMP)
	$(BIN)/python bench/bench_fire.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
