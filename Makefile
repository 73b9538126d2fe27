# Zenith: `make demo` sets up and runs the main job; `make test` sets up and runs the tests.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
JOBS ?= 2

.PHONY: setup demo test lint bench clean

$(BIN)/activate:
	$(PY) -m venv $(VENV)

setup: $(BIN)/activate
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[torch,dev]"

demo: setup
	$(BIN)/python examples/demo.py

test: setup
	$(BIN)/python -m pytest -n $(JOBS) -q -p no:cacheprovider

lint: setup
	$(BIN)/ruff check zenith tests benchmarks examples

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
