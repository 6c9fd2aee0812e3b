# HHT: `make run` sets everything up and starts the server on the simulated HAN;
# `make test` sets up and runs the whole suite.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HHT := $(VENV)/bin/hht
DATA ?= var
PORT ?= 8080
STAMP := $(VENV)/.installed-stamp
# The dependencies are installed first; then the GBCS parser is compiled (see setup.py), and
# compiled again whenever its sources change.
PARSER_SOURCES := setup.py $(wildcard webapp/gbcs/*.py)
PARSER_STAMP := $(VENV)/.parser-stamp
# An editable install that puts the checkout on sys.path (as before setup.py), so that the
# checkout's webapp/ is found ahead of any webapp/ folder an older install left behind.
EDITABLE := --config-settings editable_mode=compat -e

.PHONY: setup install run test lint format bench soak clean browser front attack screens postgres fleet fleet-bench

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "HHT needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	HHT_PURE_PYTHON=1 $(PY) -m pip install --quiet $(EDITABLE) '.[test]'
	touch $(STAMP)

$(PARSER_STAMP): $(STAMP) $(PARSER_SOURCES)
	$(PY) -m pip install --quiet --no-deps $(EDITABLE) .
	$(PY) -m compileall -q webapp > /dev/null
	touch $(PARSER_STAMP)

setup: $(STAMP) $(PARSER_STAMP)

# On the device: only what the HHT runs (no test tools, no browser driver), parser compiled.
install:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "HHT needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(EDITABLE) .
	$(PY) -m compileall -q webapp > /dev/null
	@bash scripts/ensure-nginx.sh

$(DATA)/hht.sqlite: | $(PARSER_STAMP)
	$(HHT) init --demo --data-dir $(DATA)

run: $(PARSER_STAMP) $(DATA)/hht.sqlite front
	@echo "Demo logins: installer alex / PIN 246810, supervisor sam / password supervise-demo"
	$(HHT) serve --data-dir $(DATA) --port $(PORT)

browser:
	@bash scripts/ensure-chromium.sh

# nginx, the front `hht serve` runs before gunicorn (README "Serving"); installed when missing.
front:
	@bash scripts/ensure-nginx.sh

# Debian's PostgreSQL for the fleet office's tests and `make fleet` (throwaway clusters).
postgres:
	@bash scripts/ensure-postgres.sh

# The fleet office on a throwaway PostgreSQL with three demo HHTs that run jobs and sync
# (README "Run a fleet office"); serves until Ctrl-C.
FLEET_PORT ?= 8090
fleet: $(PARSER_STAMP) postgres
	$(HHT) fleet-demo --demo-dir $(DATA)/fleet --port $(FLEET_PORT)

# The fleet office at 1,000 HHTs x 100 jobs (a million events): sync throughput, history p95
# per filter, database size; printed and written to .bench/fleet.json (minutes; not in
# `make test`). FLEET_BENCH="--hhts 200" for a smaller run.
FLEET_BENCH ?=
fleet-bench: $(PARSER_STAMP) postgres
	$(PY) -m webapp.fleet.bench --out .bench/fleet.json $(FLEET_BENCH)

# The suite runs on two workers (pytest-xdist), a test file per worker at a time, so that
# module fixtures (one server, one browser) stay whole. TEST_WORKERS=0: in this process.
TEST_WORKERS ?= 2
test: $(PARSER_STAMP) browser front postgres
	@bash scripts/ensure-tshark.sh
	$(VENV)/bin/ruff check webapp tests
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check webapp tests
	$(VENV)/bin/ruff format --check webapp tests

format: $(STAMP)
	$(VENV)/bin/ruff format webapp tests
	$(VENV)/bin/ruff check --fix webapp tests

bench: $(PARSER_STAMP) browser front
	$(PY) -m webapp.bench.suite --out .bench/results.json

# Screenshots of every step of the installer's job (both phone sizes) and of every
# supervisor page, in .bench/screens/ (README "Run a job").
screens: $(PARSER_STAMP) browser front
	$(PY) -m webapp.bench.screens --out .bench/screens

# The server under a bounded attack on loopback (about a minute); fails if the installer
# waited more than 2 s for a page or the job did not complete. FRONT=none: without nginx.
FRONT ?= auto
attack: $(PARSER_STAMP) front
	$(PY) -m webapp.bench.attack --front $(FRONT) --out .bench/attack.json

soak: $(PARSER_STAMP)
	$(PY) -m webapp.testing.crash --points 60 --out .bench/crash.json
	$(PY) -m webapp.testing.soak --jobs 1000 --out .bench/soak.json

clean:
	rm -rf $(VENV) .bench .pytest_cache build webapp/gbcs/*.so
