# taian-titles: `make demo` and `make test` do everything on a fresh machine.
PYTHON ?= python3
# Another interpreter gets its own venv: `make test PYTHON=python3.13 VENV=.venv313`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# durable-rules compiles its C core from source on install, and its setup.py replaces CFLAGS,
# so the core would be built without optimisation.  CPPFLAGS reaches the compiler too.  The
# core is built afresh (pip's wheel cache may hold an unoptimised build) and reinstalled
# whenever the venv is set up again.  durable-rules 2.0.28 (its last release) calls
# PyEval_CallObject, which Python 3.13 removed; the define maps it to PyObject_CallObject, the
# same call under its current name (harmless on 3.11 and 3.12, where both exist).
DURABLE_CPPFLAGS := -O2 -DPyEval_CallObject=PyObject_CallObject
DURABLE := $(shell grep -o 'durable_rules==[0-9.]*' pyproject.toml)
DURABLE_VERSION := $(patsubst durable_rules==%,%,$(DURABLE))
# The core is built from PyPI's sdist of that version, checked against this digest, with one
# change: an object's property table of 32 entries rather than 255 (state.h,
# MAX_OBJECT_PROPERTIES).  The core clears and probes that table for every fact and frame; the
# adapter sends at most 28 properties a fact (taian_titles/limits.py, FIELDS_PER_FACT, checked
# when a ruleset loads).  Measured: 4% more applicants a second, results identical
# (benchmarks/README.md).  A stock build from PyPI gives the same results, a little slower.
DURABLE_SHA256 := 053b26f5e48d312d4fa27995243f954671be6eece477f150c059c364eb4d7d61
DURABLE_SRC := $(VENV)/durable-src
DURABLE_DIR := $(DURABLE_SRC)/durable_rules-$(DURABLE_VERSION)

.PHONY: demo test test-deep bench schemas check-build clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

check-build:
	@command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || { \
	  echo "durable-rules compiles C: install a C compiler (Debian: apt-get install build-essential)"; exit 1; }
	@$(PYTHON) -c 'import sysconfig, os, sys; h = os.path.join(sysconfig.get_paths()["include"], "Python.h"); sys.exit(0 if os.path.exists(h) else 1)' || { \
	  echo "durable-rules needs the Python headers (Debian: apt-get install python3-dev)"; exit 1; }

$(STAMP): pyproject.toml Makefile $(VENV)/bin/python | check-build
	rm -rf $(DURABLE_SRC) && mkdir -p $(DURABLE_SRC)
	$(PY) -m pip download --quiet --no-cache-dir --no-deps --no-binary :all: --dest $(DURABLE_SRC) '$(DURABLE)'
	echo '$(DURABLE_SHA256)  $(DURABLE_DIR).tar.gz' | sha256sum --check --quiet
	tar -xzf $(DURABLE_DIR).tar.gz -C $(DURABLE_SRC)
	sed -i 's/^#define MAX_OBJECT_PROPERTIES 255$$/#define MAX_OBJECT_PROPERTIES 32/' $(DURABLE_DIR)/src/rules/state.h
	grep -q '^#define MAX_OBJECT_PROPERTIES 32$$' $(DURABLE_DIR)/src/rules/state.h
	CPPFLAGS="$$CPPFLAGS $(DURABLE_CPPFLAGS)" $(PY) -m pip install --quiet --no-cache-dir \
	  --force-reinstall --no-deps ./$(DURABLE_DIR)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	@PYTHONIOENCODING=utf-8 $(PY) examples/demo.py

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-deep: $(STAMP)
	HYPOTHESIS_PROFILE=deep $(PY) -m pytest -q

# The JSON Schemas of schemas/, generated from the model and the shipped policy (a test checks
# that the files are what the code generates: run this after changing either).
schemas: $(STAMP)
	$(PY) -m taian_titles.schema schemas

# The peers of bench_peers.py (ZEN, experta): installed for `make bench` only, never by `make test`.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	@touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	$(PY) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv313 build dist *.egg-info .pytest_cache .hypothesis
