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
	CPPFLAGS="$$CPPFLAGS $(DURABLE_CPPFLAGS)" $(PY) -m pip install --quiet --no-cache-dir --no-binary durable_rules \
	  --force-reinstall --no-deps '$(DURABLE)'
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
