# resnet-cli — all set-up goes through these targets (README: `make run`, `make test`).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: venv run test bench reproduce reproduce-success reproduce-li2017 reproduce-yun2019 docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,plot]'
	touch $(STAMP)

venv: $(STAMP)

## The main job on the bundled defaults: the success-rate headline of Liu et al. 2019.
run: $(STAMP)
	$(BIN)/resnet-cli success-rate

## The test suite (< 5 minutes on 2 cores; no timing asserts).
test: $(STAMP)
	$(BIN)/python -m pytest tests

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

## Speed ratios against the peers, written to docs/benchmarks.md.
bench: $(BENCH_STAMP)
	$(BIN)/python tests/bench/run_bench.py --write docs/benchmarks.md

## Liu et al. 2019 success rates (both presets) into docs/reproductions.md.
reproduce-success: $(STAMP)
	$(BIN)/python scripts/reproduce_success.py

## Li et al. 2017, Figures 5, 9, 10 (depth-sweep presets li2017-fig5/9/10, seed 0): JSON results in
## docs/data/, figures in docs/figures/, the "Li et al. 2017" section of docs/reproductions.md.
reproduce-li2017: $(STAMP)
	$(BIN)/python scripts/reproduce_li2017.py --docs docs

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
