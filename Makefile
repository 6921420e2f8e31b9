# Couponhub developer commands. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate demo bench clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

## run: install, migrate the SQLite default, load demo data, serve on 127.0.0.1:8000
run: $(BIN)/.installed
	DEBUG=1 $(BIN)/python manage.py migrate --no-input
	DEBUG=1 $(BIN)/python manage.py load_demo --base-url http://$(HOST):$(PORT)
	DEBUG=1 $(BIN)/python manage.py ensure_local_admin
	@echo "Admin: http://$(HOST):$(PORT)/admin/   API docs: http://$(HOST):$(PORT)/api/docs/"
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

## test: the whole test suite (DATABASE_URL picks the database; SQLite by default)
test: $(BIN)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(BIN)/.installed
	DEBUG=1 $(BIN)/python manage.py migrate --no-input

demo: $(BIN)/.installed
	DEBUG=1 $(BIN)/python manage.py load_demo --base-url http://$(HOST):$(PORT)

## bench: the performance suite on PostgreSQL (BENCH_QUICK=1: a tenth of the data);
## writes bench/results/<date>.json and .md. Needs wrk (apt-get install -y wrk).
$(BIN)/.bench-installed: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $@

bench: $(BIN)/.bench-installed
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .ruff_cache
