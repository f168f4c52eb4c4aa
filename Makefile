# Two entry points for a fresh machine with Python 3.11 and pip: `make demo` and `make test`.
# Each creates .venv (and reinstalls when pyproject.toml changes) before doing its job.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench check baseline clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dask,notebooks,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rmasim run scenarios/crash.yaml

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy rmasim
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: $(STAMP)
	$(BIN)/rmasim check --seeds 3

baseline: $(STAMP)
	$(BIN)/rmasim check --seeds 3 --update-baseline

bench: $(STAMP)
	$(BIN)/python benchmarks/fleet_day.py

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache
