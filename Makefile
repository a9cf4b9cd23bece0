# Doorstep's entry points. Every target sets up the virtual environment itself.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_ACCOUNTS ?= 3000
DEMO_PORT ?= 8000

.PHONY: setup demo test lint check bench messages clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@python=$$(scripts/find-python) && echo "using $$python" && "$$python" -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

demo: setup
	$(VENV)/bin/doorstep demo --accounts $(DEMO_ACCOUNTS) --port $(DEMO_PORT)

test: setup
	$(VENV)/bin/pytest

lint: setup
	$(VENV)/bin/ruff check doorstep tests bench
	$(VENV)/bin/doorstep makemigrations --check --dry-run

bench: setup
	$(PY) bench/intake.py --accounts 100000 --database sqlite:///var/bench.sqlite3

messages: setup
	cd doorstep && ../$(VENV)/bin/doorstep makemessages -l zh_Hans --no-obsolete && ../$(VENV)/bin/doorstep compilemessages

clean:
	rm -rf $(VENV) var
