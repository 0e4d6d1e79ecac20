# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
INSTALLED := $(VENV)/.installed

.PHONY: run serve smoke test lint bench

$(INSTALLED): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The embedded default is a local demo: debug on unless the environment says otherwise.
run: export DEBUG ?= true
run: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# The production topology on one machine, debug off: gunicorn, the task worker and the periodic
# jobs' scheduler (config/serve.py). DATABASE_URL and S3_* when set, the embedded default otherwise.
serve: $(INSTALLED)
	$(BIN)/python -m config.serve

# CI's production smoke test (deploy/smoke.py): that topology against an empty PostgreSQL database
# (DATABASE_URL) and moto's S3 server on loopback, driven over HTTP.
smoke: $(INSTALLED)
	$(BIN)/python deploy/smoke.py

# One worker per core; the 15 slowest tests are listed at the end for the next engineer.
test: $(INSTALLED) lint
	$(BIN)/python -m pytest -n auto --durations=15

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Not part of `make test`: measurements on PostgreSQL (DATABASE_URL), written to bench/results.*.
# Its extra tool (a profiler) is installed only here; the HTTP measurement needs Debian's wrk.
BENCH_INSTALLED := $(VENV)/.installed-bench

$(BENCH_INSTALLED): $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.run
