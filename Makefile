# The two commands: `make dev` runs the whole pipeline locally; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
INFRA_VENV := .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed
WORKER_RUNTIME := .worker-runtime
WORKER_STAMP := $(WORKER_RUNTIME)/.installed

.PHONY: setup dev test lint index bench migrate replay verify clean

$(PY_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

# The Python worker's request handlers (azure-functions-runtime), past the wheel's Python pin.
$(WORKER_STAMP): requirements-worker.txt $(PY_STAMP)
	rm -rf $(WORKER_RUNTIME)
	$(VENV)/bin/pip install --quiet --no-deps --ignore-requires-python --target $(WORKER_RUNTIME) -r requirements-worker.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The Bicep checkers (checkov, pycep-parser, tree-sitter-bicep) live apart from the app's pins.
$(INFRA_STAMP): tests/infra/requirements.txt
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --upgrade pip
	$(INFRA_VENV)/bin/pip install --quiet -r tests/infra/requirements.txt
	touch $@

DASHBOARD := dashboard/dist/index.html
DASHBOARD_SOURCES := $(shell find dashboard/src dashboard/public -type f 2>/dev/null) dashboard/index.html dashboard/vite.config.js

$(DASHBOARD): $(NODE_STAMP) $(DASHBOARD_SOURCES)
	npm run --silent build:dashboard
	touch $@

setup: $(PY_STAMP) $(WORKER_STAMP) $(NODE_STAMP) $(DASHBOARD)

# exec: the dev host is make's own child, so it notices when make is killed and stops.
dev: setup
	exec env $(if $(PORT),PORT=$(PORT)) $(PY) -m devhost

lint: $(PY_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The app as the Python worker indexes it in Azure: any load error fails here.
index: $(PY_STAMP) $(WORKER_STAMP)
	$(PY) -m devhost.check

test: setup lint index $(INFRA_STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench

dev-db-url:
	@echo "postgresql://postgres:@/postgres?host=$(CURDIR)/.devdata/postgres"

migrate: $(PY_STAMP)
	$(PY) -m shared.migrate

# make replay ARGS="--source archive --start 2026-11-27T14:00Z --end 2026-11-27T15:00Z"
replay: $(PY_STAMP)
	$(PY) -m shared.replay $(ARGS)

# make verify ARGS="--start 24h"
verify: $(PY_STAMP)
	$(PY) -m shared.verify $(ARGS)

clean:
	rm -rf $(VENV) $(INFRA_VENV) $(WORKER_RUNTIME) node_modules .devdata .benchdata
