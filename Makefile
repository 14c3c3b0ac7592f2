# forge-sql: `make run` serves the embedded default, `make test` installs what the tests
# need and runs them. Both work on a fresh Debian/Ubuntu machine (system packages need root).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA   ?= forge-data
PORT   ?= 5433

.PHONY: run test test-all bench lint typecheck install install-test system-deps clean

$(BIN)/forge-sql: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

install: $(BIN)/forge-sql

$(VENV)/.test-deps: pyproject.toml $(BIN)/forge-sql
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install-test: $(VENV)/.test-deps system-deps

# Programs the integration tests drive: psql, and a PostgreSQL server to hold a shared
# lake's catalog (tests/integration/postgres.py starts its own cluster on loopback).
system-deps:
	@command -v psql >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing PostgreSQL (psql and the server)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

## Serve the embedded default: ./forge-data, port 5433, trust auth on 127.0.0.1.
run: install
	$(BIN)/forge-sql serve --data-dir $(DATA) --port $(PORT)

## Install everything the tests need, then run the default (fast) test suite.
test: install-test
	$(BIN)/python -m pytest -q

## Also the slow tests.
test-all: install-test
	$(BIN)/python -m pytest -q -m ''

bench: install-test
	$(BIN)/python bench/bench_server.py

lint: install-test
	$(BIN)/ruff check forge_sql tests bench

typecheck: install-test
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
