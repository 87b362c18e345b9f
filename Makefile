# Every command the README names. Each target creates .venv when it is missing and
# installs the project with its dev extra (re-installing when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv test test-matrix demo lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

# The whole suite against each CloudEvents SDK generation (1.11, 1.13 and 2.2), with nox;
# the 1.11 session also installs functions-framework for its example.
test-matrix: $(STAMP)
	$(BIN)/nox

# -rs prints why an example skipped (one written for the other SDK generation).
demo: $(STAMP)
	$(BIN)/python -m pytest -v -rs -p no:randomly examples

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict pytest_cloudevents tests

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .nox .pytest_cache .mypy_cache .ruff_cache
