# HHT: `make run` sets everything up and starts the server on the simulated HAN;
# `make test` sets up and runs the whole suite.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HHT := $(VENV)/bin/hht
DATA ?= var
PORT ?= 8080
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test lint format bench soak clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "HHT needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

$(DATA)/hht.sqlite: | $(STAMP)
	$(HHT) init --demo --data-dir $(DATA)

run: $(STAMP) $(DATA)/hht.sqlite
	@echo "Demo logins: installer alex / PIN 246810, supervisor sam / password supervise-demo"
	$(HHT) serve --data-dir $(DATA) --port $(PORT)

browser:
	@bash scripts/ensure-chromium.sh

test: $(STAMP) browser
	$(VENV)/bin/ruff check webapp tests
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check webapp tests
	$(VENV)/bin/ruff format --check webapp tests

format: $(STAMP)
	$(VENV)/bin/ruff format webapp tests
	$(VENV)/bin/ruff check --fix webapp tests

bench: $(STAMP) browser
	$(PY) -m webapp.bench --out .bench/results.json

soak: $(STAMP)
	$(PY) -m webapp.testing.crash --points 60 --out .bench/crash.json
	$(PY) -m webapp.testing.soak --jobs 1000 --out .bench/soak.json

clean:
	rm -rf $(VENV) .bench .pytest_cache
