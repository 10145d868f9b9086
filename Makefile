# The two commands of the README: `make run` (the engine on the embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLE_DAY ?= 26/11/2026

.PHONY: run demo test lint bench bench-register bench-web chaos clean load

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/directives db upgrade
	$(BIN)/directives sample load examples --if-empty
	$(BIN)/directives run chase --as-of $(SAMPLE_DAY)
	$(BIN)/directives run escalate --as-of $(SAMPLE_DAY)
	$(BIN)/directives run programme --as-of $(SAMPLE_DAY)
	$(BIN)/directives run dispatch --as-of $(SAMPLE_DAY)
	$(BIN)/directives serve

# The same day from the command line only: the register, the figures, the programme, the mail.
demo: $(VENV)/.installed
	$(BIN)/directives db upgrade
	$(BIN)/directives sample load examples --if-empty
	$(BIN)/directives tasks list --as-of $(SAMPLE_DAY) --status open
	$(BIN)/directives stats --from 01/07/2026 --to $(SAMPLE_DAY)
	$(BIN)/directives run chase --as-of $(SAMPLE_DAY)
	$(BIN)/directives run escalate --as-of $(SAMPLE_DAY)
	$(BIN)/directives programme list --month 11/2026 --as-of $(SAMPLE_DAY)
	$(BIN)/directives run programme --as-of $(SAMPLE_DAY)
	$(BIN)/directives run dispatch --as-of $(SAMPLE_DAY)
	@echo "Thư đã gửi (dạng tệp .eml): var/mail/"

test: $(VENV)/.installed
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Every benchmark next to its baseline; writes docs/benchmarks.md. BENCH_ARGS adds options, e.g.
# BENCH_ARGS="--scale national" or BENCH_ARGS="--backend sqlite --only generate chase".
bench: $(VENV)/.installed
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-register: $(VENV)/.installed
	$(BIN)/python -m bench.register --backend both --tasks 100000

# The register page over HTTP (uvicorn on loopback); BENCH_WEB_ARGS adds options, e.g.
# BENCH_WEB_ARGS="--keep-db sqlite:////tmp/web.sqlite3 --backend sqlite" to reuse a loaded database.
bench-web: $(VENV)/.installed
	$(BIN)/python -m bench.web_register --backend both --tasks 100000 $(BENCH_WEB_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis

# 200 users on the web desk for 5 minutes while the chase runs, national scale on PostgreSQL;
# LOAD_ARGS adds options, e.g. LOAD_ARGS="--keep-db postgresql+psycopg://postgres@127.0.0.1:5432/directives_load"
# to load the register once and work on a copy of it each time.
load: $(VENV)/.installed
	$(BIN)/python -m bench.load --users 200 --seconds 300 --scale national --json bench/results/load.json $(LOAD_ARGS)

# Crash and restart, end to end: real processes killed, PostgreSQL restarted, SMTP flapping, a
# full disk (bench/chaos.py); CHAOS_ARGS adds options, e.g. CHAOS_ARGS="--trials 60 --seed 7".
chaos: $(VENV)/.installed
	$(BIN)/python -m bench.chaos --trials 30 --seed 1 --json bench/results/chaos.json $(CHAOS_ARGS)
