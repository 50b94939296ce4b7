# Loa — the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export LOA_DATA_DIR ?= $(CURDIR)/var
VENDOR := src/loa/console/static/vendor/htmx.min.js

.PHONY: setup demo test lint pytest assets clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENDOR): package.json package-lock.json scripts/vendor_assets.py
	@command -v npm >/dev/null || { echo "Cần Node.js và npm để lấy tài nguyên front-end (apt-get install npm)."; exit 1; }
	npm ci --no-audit --no-fund --silent
	$(BIN)/python scripts/vendor_assets.py
	touch $@

assets: $(VENDOR)

setup: $(VENV)/.installed $(VENDOR)
	$(BIN)/loa migrate --verbosity 0
	$(BIN)/loa units import

demo: setup
	@scripts/check_system.sh demo
	$(BIN)/loa demo

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

pytest: $(VENV)/.installed $(VENDOR)
	@scripts/check_system.sh test
	LOA_DATA_DIR=$$(mktemp -d) $(BIN)/pytest $(PYTEST_ARGS)

test: lint pytest

clean:
	rm -rf $(VENV) node_modules var src/loa/console/static/vendor
