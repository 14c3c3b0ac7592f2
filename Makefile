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

NODE_CLIENT := tests/clients/node
# dbt, run by tests/integration/test_dbt.py as a program: its own venv, since its pins
# conflict with the test tools' (the requirements file says which).
DBT_VENV := .venv-dbt
DBT_REQUIREMENTS := tests/integration/dbt_project/requirements.txt

install-test: $(VENV)/.test-deps system-deps $(NODE_CLIENT)/node_modules/.package-lock.json \
	$(DBT_VENV)/bin/dbt

$(DBT_VENV)/bin/dbt: $(DBT_REQUIREMENTS)
	$(PYTHON) -m venv $(DBT_VENV)
	$(DBT_VENV)/bin/pip install --quiet -r $(DBT_REQUIREMENTS)
	@touch $@

# Programs the integration tests drive: psql and a PostgreSQL server to hold a shared lake's
# catalog (tests/integration/postgres.py starts its own cluster on loopback), a JDK with the
# PostgreSQL JDBC driver (pgjdbc, /usr/share/java/postgresql.jar), Node.js with npm. Each
# is installed only when missing, so machines that already have them need no root.
system-deps:
	@missing=""; \
	{ command -v psql >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } \
	  || missing="$$missing postgresql"; \
	command -v javac >/dev/null 2>&1 || missing="$$missing default-jdk-headless"; \
	test -f /usr/share/java/postgresql.jar || missing="$$missing libpostgresql-jdbc-java"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# node-postgres at the versions of the committed lock file.
$(NODE_CLIENT)/node_modules/.package-lock.json: $(NODE_CLIENT)/package-lock.json | system-deps
	npm ci --prefix $(NODE_CLIENT) --no-audit --no-fund --loglevel=error

## Apply migrations/ (the demo schema) to ./forge-data, then serve it on port 5433 with
## trust auth on 127.0.0.1. Applying is idempotent: only pending migrations run.
run: install
	$(BIN)/forge-sql migrate --data-dir $(DATA) --dir migrations
	$(BIN)/forge-sql serve --data-dir $(DATA) --port $(PORT)

## Install everything the tests need, then run the default (fast) test suite on
## TEST_WORKERS processes (pytest-xdist), each taking whole test files so that a module's
## fixtures start once.
TEST_WORKERS ?= 2
test: install-test
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

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
	rm -rf $(VENV) $(DBT_VENV) .pytest_cache .mypy_cache .ruff_cache
