# DomainFlow finding tracker: local run and the CI test suite.
#   make run    set up .venv, generate static/css/pygments.css, migrate, load the catalogue,
#               create demo users, serve, and print notification emails (the sender runs beside)
#   make test   lint + pytest on SQLite and on a throwaway PostgreSQL (what CI runs)
#   make test-deep  the same with many more Hypothesis examples per test (slow; now and then)
#   make clean  remove the virtualenv, the SQLite database and collected static files

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
export PYTEST_ARGS

VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run serve test test-deep format clean

# Serve the app locally with DEBUG on (demo_users refuses to run without it).
run: export DEBUG := 1
run: $(VENV)/.installed-run
	$(PY) manage.py pygments_css
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_catalogue
	$(PY) manage.py demo_users
	@echo
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl-C to stop); notification emails print here"
	$(PY) manage.py send_notifications & sender=$$!; \
	trap 'kill $$sender 2>/dev/null || true' EXIT; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# Serve as in production: gunicorn, DEBUG off, PostgreSQL from DATABASE_URL (see scripts/serve).
serve: $(VENV)/.installed-run
	HOST=$(HOST) PORT=$(PORT) scripts/serve

# Lint, then the test suite on SQLite and on PostgreSQL (see scripts/test-all).
test: $(VENV)/.installed-dev
	scripts/test-all

# The same, with the "deep" Hypothesis profile of tests/conftest.py instead of "ci".
test-deep: $(VENV)/.installed-dev
	HYPOTHESIS_PROFILE=deep scripts/test-all

# Rewrite files so that `ruff format --check` and the fixable lint rules pass.
format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Remove everything `make run` / `make test` create in the checkout.
clean:
	rm -rf $(VENV) db.sqlite3* staticfiles

# The virtualenv itself.
$(PY):
	$(PYTHON) -m venv $(VENV)

# The project's runtime dependencies; reinstalled when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

# Runtime plus dev dependencies (pytest, playwright, ruff, ...).
$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install -e ".[dev]"
	touch $@
