# Labdesk developer tasks. `make run` on a fresh machine needs only python3.11 (or python3) and make.
#
# Variables you may override on the command line:
#   PYTHON       interpreter that creates the venv (default: python3.11, else python3)
#   VENV         venv directory (default: .venv)
#   PYTEST_ARGS  extra arguments for pytest, e.g. make test PYTEST_ARGS='tests/e2e -x'
#   m            message for `make revision m="add hiccups"`

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
RUFF := $(VENV)/bin/ruff
ALEMBIC := $(VENV)/bin/alembic
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help venv dev run test lint format migrate revision demo bench worker clean

help:
	@echo 'make run       install runtime deps into $(VENV) and start the app (PORT, default 8080)'
	@echo 'make test      install dev deps and run all tests, e2e included (PYTEST_ARGS=...)'
	@echo 'make lint      ruff check + ruff format --check'
	@echo 'make format    sort imports and format the code with ruff'
	@echo 'make migrate   alembic upgrade head (the app also does this at start)'
	@echo 'make revision  m="message": autogenerate a migration'
	@echo 'make worker    run the Huey consumer as its own process'
	@echo 'make bench     run the benchmarks (print figures, assert nothing)'
	@echo 'make demo      load a demo lab into an empty database: users of every role, a year of hiccups (DEMO_ARGS=...)'
	@echo 'make clean     remove the venv and caches (never data/)'

# --- virtual environment ---------------------------------------------------

$(PY):
	@test -n "$(PYTHON)" || { echo 'python3.11 (or python3) not found on PATH' >&2; exit 1; }
	@echo '==> creating $(VENV) with $(PYTHON)'
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo 'venv creation failed; on Debian/Ubuntu: apt-get install python3.11-venv (or python3-venv)' >&2; exit 1; }
	-@$(PIP) install -q --upgrade pip

# Stamp files: reinstall only when a requirements file is newer than the last install.
$(VENV)/.installed: requirements.txt | $(PY)
	@echo '==> installing requirements.txt'
	$(PIP) install -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(PY)
	@echo '==> installing requirements-dev.txt'
	$(PIP) install -r requirements-dev.txt
	@touch $@ $(VENV)/.installed

venv: $(VENV)/.installed

dev: $(VENV)/.installed-dev

# --- run ---------------------------------------------------------------------

run: venv
	$(PY) app.py

worker: venv
	$(VENV)/bin/huey_consumer tasks.huey -w 2 -k thread -f

# A demo lab (tools/demo/) in an empty database; `make demo DEMO_ARGS='--reset --force'` wipes the
# database and reloads, `DEMO_ARGS='--hiccups 5000 --seed 7'` changes the size. Prints the sign-ins.
demo: venv
	$(PY) -m tools.demo $(DEMO_ARGS)

bench: venv
	$(PY) -m bench

# --- quality -----------------------------------------------------------------

test: dev
	$(PY) -m pytest -q $(PYTEST_ARGS)

# Runs both checks and fails if either fails.
lint: dev
	@status=0; \
	echo '$(RUFF) check .'; $(RUFF) check . || status=1; \
	echo '$(RUFF) format --check .'; $(RUFF) format --check . || status=1; \
	exit $$status

format: dev
	$(RUFF) check --select I --fix .
	$(RUFF) format .

# --- database ------------------------------------------------------------------

migrate: venv
	$(ALEMBIC) upgrade head

# Needs dev: alembic.ini runs ruff on the new revision file (post_write_hooks).
revision: dev
	@test -n "$(m)" || { echo 'usage: make revision m="what changed"' >&2; exit 1; }
	$(ALEMBIC) revision --autogenerate -m "$(m)"

# --- housekeeping ----------------------------------------------------------------

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find . -path ./data -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
