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

# Every benchmark at the size its goal names; each prints its figures and its in-run baseline.
BENCH_PG ?= postgres://postgres@127.0.0.1:5432
bench: setup
	$(PY) bench/intake.py --accounts 1000000 --database $(BENCH_PG)/doorstep_bench_intake
	$(PY) bench/intake.py --accounts 100000 --database sqlite:///var/bench-intake.sqlite3
	$(PY) bench/strategy.py --cases 1000000 --database $(BENCH_PG)/doorstep_bench_strategy
	$(PY) bench/compliance.py --events 10000000 --borrowers 1000000 --database $(BENCH_PG)/doorstep_bench_compliance
	$(PY) bench/routing.py --instances ../shared/data/vrptw/solomon --seconds 5 --out var/bench-routing.csv --routes-out var/bench-routes.json
	$(PY) bench/scoring.py
	$(PY) bench/case_list.py --cases 1000000 --database $(BENCH_PG)/doorstep_bench_case_list
	$(PY) bench/payments.py --payments 1000000 --database $(BENCH_PG)/doorstep_bench_payments
	$(PY) bench/scoring_batch.py --cases 1000000 --database $(BENCH_PG)/doorstep_bench_scoring_batch
	$(PY) bench/uplift.py --repeats 10
	$(PY) bench/reports.py --cases 1000000 --events 20000000 --database $(BENCH_PG)/doorstep_bench_reports

messages: setup
	scripts/messages

clean:
	rm -rf $(VENV) var
