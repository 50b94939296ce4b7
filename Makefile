# Loa — the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export LOA_DATA_DIR ?= $(CURDIR)/var
VENDOR := src/loa/console/static/vendor/htmx.min.js
# Both cores: the suite is xdist-safe (ports are reserved machine-wide, each worker has its own database);
# PYTEST_ARGS= (empty) runs it in one process.
PYTEST_ARGS ?= -n 2

.PHONY: setup demo test lint pytest assets clean system-demo system-test mutation

# The Debian packages come first: installed when run as root, else one line to run and a stop before any setup.
system-demo:
	@scripts/install_system.sh demo

system-test:
	@scripts/install_system.sh test

$(BIN)/python: | system-demo
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENDOR): package.json package-lock.json scripts/vendor_assets.py | system-demo
	npm ci --no-audit --no-fund --silent
	$(BIN)/python scripts/vendor_assets.py
	touch $@

assets: $(VENDOR)

setup: $(VENV)/.installed $(VENDOR)
	$(BIN)/loa migrate --verbosity 0
	$(BIN)/loa units import

demo: system-demo setup
	$(BIN)/loa demo

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

pytest: system-test $(VENV)/.installed $(VENDOR)
	LOA_DATA_DIR=$$(mktemp -d) $(BIN)/pytest $(PYTEST_ARGS)

test: system-test lint pytest

# Mutation testing (docs/testing.md), not part of `make test`: MUTANTS='loa_protocol.ladder*' for one module.
MUTMUT_CHILDREN ?= 2
mutation: system-test $(VENV)/.installed
	LOA_DATA_DIR=$$(mktemp -d) $(BIN)/mutmut run --max-children $(MUTMUT_CHILDREN) $(if $(MUTANTS),'$(MUTANTS)')
	$(BIN)/python scripts/mutation_score.py

clean:
	rm -rf $(VENV) node_modules var src/loa/console/static/vendor
