# Two entry points: `make demo` (install, capture the example, validate) and `make check`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo check install test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'

demo: install
	$(BIN)/python examples/demo.py bags

lint:
	$(BIN)/ruff format --check preserve tests examples benchmarks
	$(BIN)/ruff check preserve tests examples benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test:
	$(BIN)/pytest -n 2

check: install lint test

clean:
	rm -rf $(VENV) bags build *.egg-info .mypy_cache .pytest_cache .ruff_cache .hypothesis
