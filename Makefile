# Every command the README names. Each target creates .venv when it is missing and
# installs the project with its dev extra (re-installing when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv venv-functions test test-matrix test-browser screenshot demo lint bench fuzz serve dist clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# functions-framework pins cloudevents 1.x, so its examples (examples/functions and the
# Eventarc recipe) run in a venv of their own, with the SDK generation it takes.
FVENV  := .venv-functions
FSTAMP := $(FVENV)/.installed

venv-functions: $(FSTAMP)

$(FSTAMP): pyproject.toml
	test -x $(FVENV)/bin/python || $(PYTHON) -m venv $(FVENV)
	$(FVENV)/bin/python -m pip install -q --upgrade pip
	$(FVENV)/bin/python -m pip install -q -e '.[test]' 'functions-framework>=3.5'
	touch $(FSTAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

# The whole suite against each CloudEvents SDK generation (1.11, 1.13 and 2.2), with nox;
# the 1.11 session also installs functions-framework for its example.
test-matrix: $(STAMP)
	$(BIN)/nox

# The live page in a real headless browser: Debian's chromium, driven by Playwright (in the
# dev extra). As root with apt, chromium is installed first; elsewhere the test skips and
# says why.
test-browser: $(STAMP)
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "chromium is missing and this is not root with apt: tests/test_page.py will skip"; \
	  fi; \
	fi
	$(BIN)/python -m pytest -v -rs -p no:randomly tests/test_page.py

# Refresh docs/page.png, the README's picture of the page, from the browser test.
screenshot: $(STAMP)
	CE_UPDATE_SCREENSHOT=1 $(BIN)/python -m pytest -q -p no:randomly tests/test_page.py -k screenshot

# A standalone receiver on port 8080 for a person to try: the page is at /_ce/.
serve: $(STAMP)
	$(BIN)/pytest-cloudevents serve --port 8080

# -rs prints why an example skipped (one written for the other SDK generation); the
# functions-framework examples run again in their own venv, where they do not skip.
demo: $(STAMP) $(FSTAMP)
	$(BIN)/python -m pytest -v -rs -p no:randomly examples
	$(FVENV)/bin/python -m pytest -v -rs -p no:randomly examples/functions examples/eventarc

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict pytest_cloudevents tests

# The baselines: Debian's nginx-light and valgrind (callgrind), installed first when run as
# root with apt; elsewhere those figures are skipped and the reason printed.
bench: $(STAMP)
	@for pkg in nginx:nginx-light valgrind:valgrind; do \
	  cmd=$${pkg%%:*}; deb=$${pkg##*:}; \
	  if ! command -v $$cmd >/dev/null 2>&1 && [ ! -x /usr/sbin/$$cmd ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$deb; \
	    else \
	      echo "$$cmd is missing and this is not root with apt: its figures will be skipped"; \
	    fi; \
	  fi; \
	done
	$(BIN)/python benchmarks/run.py

# decode fuzzed by atheris (libFuzzer) for FUZZ_SECONDS, under -W error; a crash leaves its
# input in fuzz/findings/ (replay: python fuzz/decode_target.py fuzz/findings/crash-...).
FUZZ_SECONDS ?= 300
fuzz: $(STAMP)
	mkdir -p fuzz/findings
	cd fuzz/findings && ../../$(BIN)/python -W error ../decode_target.py \
	  -max_total_time=$(FUZZ_SECONDS) -max_len=4096

# The sdist and the wheel in dist/, checked by twine (what `pip install dist/*.whl` takes).
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

clean:
	rm -rf $(VENV) $(FVENV) .nox .pytest_cache .mypy_cache .ruff_cache dist
