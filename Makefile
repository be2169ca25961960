# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed-stamp
# pytest-xdist: one worker per core (at most 4), a test module stays on one
# worker (module fixtures, one Chromium per module). `PYTEST_ARGS= make test`
# runs in one process.
PYTEST_ARGS ?= -n auto --maxprocesses 4 --dist loadfile

.PHONY: run test lint format messages clean

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(VENV)/bin/python pyproject.toml
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	bin/run

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages: $(STAMP)
	$(VENV)/bin/python manage.py makemessages -l de -l en --ignore=.venv --ignore=var
	$(VENV)/bin/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var staticfiles
