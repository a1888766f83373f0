# One command sets up and runs the main job; one sets up and runs the tests.
#   make demo   -> creates .venv if missing (torch==2.13.0 first), installs the suite, runs the offline demo
#   make test-fast -> pure unit tests only (under 2 min on 2 cores); docs/testing.md has the tiers
#   make test   -> same setup, then the default test suite CI runs (no network, ~10 min on 2 cores)
#   make test-slow -> only the slow checks; make typecheck -> mypy over the packages
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.crossling-installed
DATA ?= ../shared/data

.PHONY: setup demo test test-fast test-integration test-slow typecheck bench study clean-runs

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade "pip>=23" >/dev/null
	$(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(PY) -m probes.extract --layer all

# markers set by tests/conftest.py (what a test does) and pyproject.toml; docs/testing.md
FAST := not slow and not integration and not model and not subprocess and not ray and not fuzz and not heavy

test-fast: setup
	$(PY) -m pytest -q -m "$(FAST)" --timeout=120 --durations=5

test: setup
	$(PY) -m pytest -q -m "not slow" --timeout=900

test-integration: setup
	CROSSLING_DATA=$(DATA) $(PY) -m pytest -q -m integration --timeout=1800

test-slow: setup
	$(PY) -m pytest -q -m slow --timeout=3600

typecheck: setup
	$(PY) -m mypy

bench: setup
	$(PY) bench/extract.py
	$(PY) bench/bench_xtreme.py
	$(PY) bench/bench_conllu.py
	$(PY) bench/collect.py

clean-runs:
	rm -rf runs

study: setup
	$(PY) -m analysis.study --config configs/study.yaml --data-dir $(DATA)

report: setup
	$(PY) -m analysis.report --run $(or $(RUN),runs/study)

bench-all: bench
	$(PY) bench/similarity.py --threads 1
	$(PY) bench/bench_probes.py
	$(PY) bench/bench_transfer.py --features synthetic --workers 2 --out runs/bench-transfer
	$(PY) bench/collect.py
